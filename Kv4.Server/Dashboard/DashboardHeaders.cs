namespace Kv4.Server.Dashboard;

/// <summary>
/// The headers every dashboard response carries, errors included. The page runs only its own scripts and styles
/// (no inline script, no `eval`, no third-party origin), talks only to this origin, cannot be framed, and sets
/// DOM text through properties only: Trusted Types with no policy turns any HTML-string sink (`innerHTML` and
/// the like) into an error, so a stored value can never become markup.
/// </summary>
public static class DashboardHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'";

    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        // For browsers that predate frame-ancestors.
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
    }
}
