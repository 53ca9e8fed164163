using System.CommandLine;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 profile ls|set|rm`: the profile file (servers and logins by name). `set NAME` takes the values of the
/// global `--url`, `--user` and `--secret` and keeps the ones not given. Secrets are never printed.
/// </summary>
public static class ProfileCommand
{
    public static Command Create(GlobalOptions options)
    {
        var command = new Command("profile", "named servers and logins (the profile file)");

        var ls = new Command("ls", "list the profiles (never their secrets)");
        CommandAction.Set(ls, options, (context, _) =>
        {
            var path = ProfileFile.DefaultPath(Environment.GetEnvironmentVariable);
            var file = ProfileFile.Load(path);
            if (file.Profiles.Count == 0)
            {
                context.Out.WriteLine($"(no profiles in {path}: kv4 profile set NAME --url URL --user USER --secret SECRET)");
                return Task.FromResult(0);
            }
            var table = new TextTable("NAME", "URL", "USER", "SECRET");
            foreach (var (name, profile) in file.Profiles)
                table.Add(name, profile.Url ?? "-", profile.User ?? "-", profile.Secret is null ? "-" : "(set)");
            table.WriteTo(context.Out);
            return Task.FromResult(0);
        });

        var setName = new Argument<string>("name") { Description = "the profile's name" };
        var set = new Command("set", "add or change a profile from --url, --user and --secret") { setName };
        CommandAction.Set(set, options, (context, _) =>
        {
            var name = context.Value(setName);
            if (name.Length is 0 or > 64) throw CliFailure.Usage("a profile name is 1..64 characters");
            var url = context.Value(options.Url);
            if (url is not null) ConnectionSettings.ParseUrl(url);
            var path = ProfileFile.DefaultPath(Environment.GetEnvironmentVariable);
            var file = ProfileFile.Load(path);
            var profile = file.Profiles.TryGetValue(name, out var existing) ? existing : new Profile();
            profile.Url = url ?? profile.Url;
            profile.User = context.Value(options.User) ?? profile.User;
            profile.Secret = context.Value(options.Secret) ?? profile.Secret;
            file.Profiles[name] = profile;
            file.Save(path);
            context.Out.WriteLine($"profile {name} saved in {path}");
            return Task.FromResult(0);
        });

        var rmName = new Argument<string>("name") { Description = "the profile's name" };
        var rm = new Command("rm", "remove a profile") { rmName };
        CommandAction.Set(rm, options, (context, _) =>
        {
            var path = ProfileFile.DefaultPath(Environment.GetEnvironmentVariable);
            var file = ProfileFile.Load(path);
            if (!file.Profiles.Remove(context.Value(rmName))) throw CliFailure.Usage($"no profile '{context.Value(rmName)}' in {path}");
            file.Save(path);
            context.Out.WriteLine($"profile {context.Value(rmName)} removed");
            return Task.FromResult(0);
        });

        command.Subcommands.Add(ls);
        command.Subcommands.Add(set);
        command.Subcommands.Add(rm);
        return command;
    }
}
