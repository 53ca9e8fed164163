using System.CommandLine;
using System.Text.Json;
using Kv4.Cli.Connection;
using Kv4.Cli.Failures;
using Kv4.Cli.Output;

namespace Kv4.Cli.Commands;

/// <summary>
/// `kv4 acc ...`: what `_acc` offers (docs/api.md, "_acc"). As `$sys` on top-level accounts, as an account on its
/// sub-accounts; `kv4 acc admin ...` on an account's admins. A secret is printed once, when it is issued.
/// </summary>
public static class AccCommand
{
    private const string Accounts = "accounts";
    private const string Admins = "users/admins";

    public static Command Create(GlobalOptions options)
    {
        var command = new Command("acc", "accounts, sub-accounts and admins (_acc)");
        command.Subcommands.Add(List(options, "ls", "list the accounts this login manages", Accounts));
        command.Subcommands.Add(GetAccount(options));
        command.Subcommands.Add(CreateAccount(options));
        command.Subcommands.Add(Merge(options, "update", "merge fields into an account (null removes one)", null));
        command.Subcommands.Add(Merge(options, "secret", "issue a new secret (the old one stops working)", w => w.WriteBoolean("secret", true)));
        command.Subcommands.Add(Merge(options, "disable", "block the account's logins (active:false)", w => w.WriteBoolean("active", false)));
        command.Subcommands.Add(Merge(options, "enable", "allow the account's logins again (active:true)", w => w.WriteBoolean("active", true)));
        command.Subcommands.Add(Delete(options, "del", "delete an account and all its data", Accounts));

        var admin = new Command("admin", "an account's admins (log in as ACCOUNT:ADMIN with secret ADMIN#PASSWORD... see docs/api.md)");
        admin.Subcommands.Add(List(options, "ls", "list the admins", Admins));
        admin.Subcommands.Add(GetAdmin(options));
        admin.Subcommands.Add(PutAdmin(options));
        admin.Subcommands.Add(Delete(options, "del", "delete an admin", Admins));
        command.Subcommands.Add(admin);
        return command;
    }

    private static Command List(GlobalOptions options, string name, string description, string path)
    {
        var command = new Command(name, description);
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            await foreach (var page in Pages.ReadAsync(context.Client, cursor => ApiTarget.For("acc", path).With("cursor", cursor), cancellationToken))
                if (!context.WroteRaw(page))
                    foreach (var item in page.V.EnumerateArray()) context.Out.WriteLine(item.GetString());
            return 0;
        });
        return command;
    }

    private static Command GetAccount(GlobalOptions options)
    {
        var name = new Argument<string?>("name") { Description = "the account's name", Arity = ArgumentArity.ZeroOrOne };
        var email = new Option<string?>("--email") { Description = "find it by email instead" };
        var command = new Command("get", "show an account (never its secret)") { name, email };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var byName = context.Value(name);
            var byEmail = context.Value(email);
            if (byName is null == byEmail is null) throw CliFailure.Usage("give a name or --email, one of them");
            var target = ApiTarget.For("acc", Accounts).With(byName is null ? "k2" : "k", byName ?? byEmail!.ToLowerInvariant());
            WriteRecord(context, await context.Client.GetAsync(target, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command CreateAccount(GlobalOptions options)
    {
        var name = new Argument<string>("name") { Description = "1..64 of A-Z a-z 0-9 . _ @ + -" };
        var email = new Option<string>("--email") { Description = "the account's email (required, unique)", Required = true };
        var password = new Option<string?>("--password") { Description = "a password for _sess logins (- reads it from stdin)" };
        var fields = new Option<string?>("--fields") { Description = "more fields to keep, as a JSON object: '{\"name\":\"Elena\"}'" };
        var command = new Command("create", "create an account; prints it with its secret, shown this once") { name, email, password, fields };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var extra = context.Value(fields) is { } text ? JsonArgument.ReadObject(text, "--fields") : default;
            var pass = ReadPassword(context.Value(password));
            var body = BodyWriter.WithObject(context.Value(name), writer =>
            {
                if (extra.ValueKind == JsonValueKind.Object)
                    foreach (var field in extra.EnumerateObject())
                        if (field.Name is not ("email" or "password")) field.WriteTo(writer);
                writer.WriteString("email", context.Value(email));
                if (pass is not null) writer.WriteString("password", pass);
            });
            WriteRecord(context, await context.Client.SendAsync(HttpMethod.Put, ApiTarget.For("acc", Accounts), body, cancellationToken));
            return 0;
        });
        return command;
    }

    /// <summary>A POST merge; with <paramref name="fixedFields"/> null the fields come from a JSON argument.</summary>
    private static Command Merge(GlobalOptions options, string verb, string description, Action<Utf8JsonWriter>? fixedFields)
    {
        var name = new Argument<string>("name") { Description = "the account's name" };
        var fields = new Argument<string>("fields") { Description = "a JSON object of fields to set, e.g. '{\"plan\":\"pro\"}'" };
        var command = new Command(verb, description) { name };
        if (fixedFields is null) command.Arguments.Add(fields);
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var merge = fixedFields ?? WriteFields(JsonArgument.ReadObject(context.Value(fields), "the fields"));
            var body = BodyWriter.WithObject(context.Value(name), merge);
            WriteRecord(context, await context.Client.SendAsync(HttpMethod.Post, ApiTarget.For("acc", Accounts), body, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command Delete(GlobalOptions options, string verb, string description, string path)
    {
        var name = new Argument<string>("name") { Description = "the name" };
        var command = new Command(verb, description) { name };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var reply = await context.Client.SendAsync(HttpMethod.Delete, ApiTarget.For("acc", path).With("k", context.Value(name)), null, cancellationToken);
            if (!context.WroteRaw(reply)) context.Out.WriteLine(reply.V.GetInt64() == 1 ? "deleted " + context.Value(name) : "no such name: " + context.Value(name));
            return 0;
        });
        return command;
    }

    private static Command GetAdmin(GlobalOptions options)
    {
        var name = new Argument<string>("name") { Description = "the admin's name" };
        var command = new Command("get", "show an admin") { name };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            WriteRecord(context, await context.Client.GetAsync(ApiTarget.For("acc", Admins).With("k", context.Value(name)), cancellationToken));
            return 0;
        });
        return command;
    }

    private static Command PutAdmin(GlobalOptions options)
    {
        var name = new Argument<string>("name") { Description = "the admin's name" };
        var password = new Option<string>("--password") { Description = "the admin's password (- reads it from stdin)", Required = true };
        var command = new Command("put", "create an admin, or give it a new password") { name, password };
        CommandAction.Set(command, options, async (context, cancellationToken) =>
        {
            var pass = ReadPassword(context.Value(password))!;
            var body = BodyWriter.WithObject(context.Value(name), writer => writer.WriteString("password", pass));
            WriteRecord(context, await context.Client.SendAsync(HttpMethod.Put, ApiTarget.For("acc", Admins), body, cancellationToken));
            return 0;
        });
        return command;
    }

    private static Action<Utf8JsonWriter> WriteFields(JsonElement fields) => writer =>
    {
        foreach (var field in fields.EnumerateObject()) field.WriteTo(writer);
    };

    private static string? ReadPassword(string? given)
    {
        if (given != "-") return given;
        var line = Console.In.ReadLine();
        if (string.IsNullOrEmpty(line)) throw CliFailure.Usage("no password on stdin");
        return line;
    }

    /// <summary>An account or admin record as FIELD VALUE lines (the secret among them when the reply carries it).</summary>
    private static void WriteRecord(CommandContext context, ApiReply reply)
    {
        if (context.WroteRaw(reply)) return;
        var table = new TextTable("FIELD", "VALUE");
        foreach (var field in reply.V.EnumerateObject())
            table.Add(field.Name, field.Value.ValueKind == JsonValueKind.String ? field.Value.GetString()! : Values.OneLine(field.Value));
        table.WriteTo(context.Out);
    }
}
