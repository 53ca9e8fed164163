namespace Kv4.Engine.Retention;

/// <summary>
/// Which versions of a key a layer (or a path prefix in it) keeps: the last <see cref="MaxVersions"/>, the versions
/// newer than <see cref="MaxAgeSeconds"/>, or both (a version within either is kept). Neither: everything is kept.
/// Both are at least 1 when given (the latest version of a live key is always kept anyway).
/// </summary>
public readonly record struct RetentionRule(int? MaxVersions, long? MaxAgeSeconds)
{
    /// <summary>Every version, forever: user data's promise.</summary>
    public static readonly RetentionRule KeepEverything = new(null, null);

    public bool KeepsEverything => MaxVersions is null && MaxAgeSeconds is null;

    /// <summary>The largest age a rule may give: 100 years (a longer one is a typing error, not a choice).</summary>
    public const long MaxAgeSecondsLimit = 100L * 366 * 24 * 3600;

    /// <summary>Why the rule cannot be used (null: it can).</summary>
    public string? Problem => MaxVersions is < 1 ? "MaxVersions must be at least 1"
        : MaxAgeSeconds is < 1 or > MaxAgeSecondsLimit ? $"MaxAgeSeconds must be from 1 to {MaxAgeSecondsLimit}"
        : null;

    public override string ToString() => KeepsEverything ? "keep everything"
        : string.Join(" or ", new[] { MaxVersions is { } n ? $"the last {n}" : null, MaxAgeSeconds is { } s ? $"newer than {s} s" : null }.OfType<string>());
}
