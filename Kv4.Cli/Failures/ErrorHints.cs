namespace Kv4.Cli.Failures;

/// <summary>One line of advice per error code the server answers (docs/api.md, "Replies and errors").</summary>
public static class ErrorHints
{
    public static string For(string code) => code switch
    {
        "unauthorized" => "check the login: --user/--secret, KV4_USER/KV4_SECRET or the profile (user is ACCOUNT, ACCOUNT#SUB or ACCOUNT:ADMIN)",
        "forbidden" => "this login may not do that here (a sub-account or admin role, $sys-only, or an IP deny rule)",
        "not_found" => "nothing is stored there: `kv4 ls PATH` lists a path's keys, `kv4 paths` the paths",
        "bad_path" => "a path is up to 32 segments of up to 255 bytes, no empty, '.' or '..' segment, no control characters",
        "bad_key" => "a key is 1..512 bytes without control characters; account names are 1..64 of A-Z a-z 0-9 . _ @ + -",
        "bad_json" => "the value must be one well-formed JSON document (quote strings: '\"text\"')",
        "bad_param" => "a parameter is out of range, or a cursor is stale (the server restarted): run the command again",
        "_ver_missing" => "a compare-and-set needs the version it read: --if-version VERSION",
        "version_conflict" => "the entry changed since that version was read: get it again and retry with the new version",
        "exists" => "the name (or email, or secondary key) is taken",
        "no_namespace" => "the channel must be a created namespace node first: kv4 ns put CHANNEL",
        "unknown_service" => "this server has no such service (check --layer, or the server's version)",
        "method_not_allowed" => "this service does not take that kind of call",
        "value_too_large" => "the value is over the server's size limit (1 MiB by default)",
        "rate_limited" => "too many calls or failed logins: wait a little and try again",
        "request_timeout" => "the request body arrived too slowly: check the network and retry",
        "require_account_details" => "an account needs an object with at least an email: --email ADDRESS",
        "bad_email" => "the email address is not valid",
        "username_is_immutable" or "email_is_immutable" => "an account's username and email cannot be changed",
        "unavailable" => "the server is starting, stopping or failed inside: retry shortly and see its log",
        "no_service_host" => "no live host serves that service right now",
        "not_clustered" => "this server runs as a single node: there is no cluster to change",
        _ => "see docs/api.md, \"Replies and errors\", for what this code means",
    };
}
