using Kv4.Engine.Rules;

namespace Kv4.Services.Api;

/// <summary>The error-code table of the contract: wire name and HTTP status of every code, and how engine refusals map onto it.</summary>
public static class ErrorCodes
{
    private static readonly (string Wire, int Status)[] Table = Build();

    public static string Wire(ErrorCode code) => Table[(int)code].Wire;

    public static int HttpStatus(ErrorCode code) => Table[(int)code].Status;

    public static ErrorCode FromEngine(EngineError error) => error switch
    {
        EngineError.BadPath => ErrorCode.BadPath,
        EngineError.BadKey => ErrorCode.BadKey,
        EngineError.BadJson => ErrorCode.BadJson,
        EngineError.ValueTooLarge => ErrorCode.ValueTooLarge,
        EngineError.VersionConflict => ErrorCode.VersionConflict,
        EngineError.NotFound => ErrorCode.NotFound,
        EngineError.Exists or EngineError.SecondaryKeyTaken => ErrorCode.Exists,
        EngineError.BadLayer or EngineError.BadBucket or EngineError.BadCursor => ErrorCode.BadParam,
        EngineError.FeedTruncated => ErrorCode.FeedTruncated,
        EngineError.HistoryTruncated => ErrorCode.HistoryTruncated,
        EngineError.Closed or EngineError.Unavailable or EngineError.NotPrimary or EngineError.OutOfOrder => ErrorCode.Unavailable,
        _ => ErrorCode.Unavailable,
    };

    /// <summary>
    /// The code for a request the HTTP server could not read, by the status it gave (408 body too slow, 413 body
    /// over its hard limit; any other, such as bad chunked framing, is a malformed parameter of the call).
    /// </summary>
    public static ErrorCode FromClientStatus(int status) => status switch
    {
        408 => ErrorCode.RequestTimeout,
        413 => ErrorCode.ValueTooLarge,
        _ => ErrorCode.BadParam,
    };

    private static (string, int)[] Build()
    {
        var table = new (string, int)[Enum.GetValues<ErrorCode>().Length];
        void Row(ErrorCode code, string wire, int status) => table[(int)code] = (wire, status);
        Row(ErrorCode.BadPath, "bad_path", 400);
        Row(ErrorCode.BadKey, "bad_key", 400);
        Row(ErrorCode.BadJson, "bad_json", 400);
        Row(ErrorCode.BadParam, "bad_param", 400);
        Row(ErrorCode.RequireAccountDetails, "require_account_details", 400);
        Row(ErrorCode.BadEmail, "bad_email", 400);
        Row(ErrorCode.RequireTypeParam, "require_type_param", 400);
        Row(ErrorCode.UnrecognizedTypeParam, "unrecognized_type_param", 400);
        Row(ErrorCode.VerMissing, "_ver_missing", 400);
        Row(ErrorCode.Unauthorized, "unauthorized", 401);
        Row(ErrorCode.Forbidden, "forbidden", 403);
        Row(ErrorCode.NotFound, "not_found", 404);
        Row(ErrorCode.UnknownService, "unknown_service", 404);
        Row(ErrorCode.NoNamespace, "no_namespace", 404);
        Row(ErrorCode.MethodNotAllowed, "method_not_allowed", 405);
        Row(ErrorCode.RequestTimeout, "request_timeout", 408);
        Row(ErrorCode.VersionConflict, "version_conflict", 409);
        Row(ErrorCode.Exists, "exists", 409);
        Row(ErrorCode.UsernameIsImmutable, "username_is_immutable", 409);
        Row(ErrorCode.EmailIsImmutable, "email_is_immutable", 409);
        Row(ErrorCode.ValueTooLarge, "value_too_large", 413);
        Row(ErrorCode.RateLimited, "rate_limited", 429);
        Row(ErrorCode.NoServiceHost, "no_service_host", 503);
        Row(ErrorCode.Unavailable, "unavailable", 503);
        Row(ErrorCode.NotClustered, "not_clustered", 409);
        Row(ErrorCode.FeedTruncated, "feed_truncated", 410);
        Row(ErrorCode.HistoryTruncated, "history_truncated", 410);
        foreach (var (wire, _) in table)
            if (wire is null) throw new InvalidOperationException("an ErrorCode has no row in the table");
        return table;
    }
}
