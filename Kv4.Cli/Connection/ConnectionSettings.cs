using Kv4.Cli.Failures;

namespace Kv4.Cli.Connection;

/// <summary>
/// Where and as whom to connect. Each of url, user and secret comes from the first that has it: the command line
/// (`--url`, `--user`, `--secret`), the profile named by `--profile` or `KV4_PROFILE`, the environment
/// (`KV4_URL`, `KV4_USER`, `KV4_SECRET`), and for the url the default `http://127.0.0.1:4000`.
/// </summary>
public sealed record ConnectionSettings(Uri Url, string? User, string? Secret)
{
    public const string DefaultUrl = "http://127.0.0.1:4000";

    public static ConnectionSettings Resolve(string? url, string? user, string? secret, string? profileName, Func<string, string?> environment)
    {
        profileName ??= NonEmpty(environment("KV4_PROFILE"));
        Profile? profile = null;
        if (profileName is not null)
        {
            var file = ProfileFile.Load(ProfileFile.DefaultPath(environment));
            if (!file.Profiles.TryGetValue(profileName, out profile))
                throw CliFailure.Usage($"no profile '{profileName}' in {ProfileFile.DefaultPath(environment)}", "kv4 profile ls lists them; kv4 profile set NAME ... adds one");
        }
        var text = NonEmpty(url) ?? NonEmpty(profile?.Url) ?? NonEmpty(environment("KV4_URL")) ?? DefaultUrl;
        return new ConnectionSettings(ParseUrl(text),
            NonEmpty(user) ?? NonEmpty(profile?.User) ?? NonEmpty(environment("KV4_USER")),
            NonEmpty(secret) ?? NonEmpty(profile?.Secret) ?? NonEmpty(environment("KV4_SECRET")));
    }

    public static Uri ParseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https")
            || parsed.Query.Length > 0 || parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0)
            throw CliFailure.Usage($"not a server URL: {text}", "give http(s)://HOST:PORT, e.g. " + DefaultUrl + " (the login goes in --user/--secret)");
        return parsed;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
