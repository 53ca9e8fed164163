using Kv4.Engine.Model;

namespace Kv4.Engine.Rules;

/// <summary>
/// A change-feed reader whose cursor is before the compaction horizon: some of the events after it were reclaimed.
/// <see cref="ResumeFrom"/> is the earliest cursor a read can continue from without a gap (the reader's own, raised to
/// the horizon in the partitions it was behind in); reading from it skips what was lost, knowingly.
/// </summary>
public sealed class FeedTruncatedException(FeedCursor resumeFrom)
    : EngineException(EngineError.FeedTruncated, $"events after the cursor were reclaimed by compaction; the feed can resume from {resumeFrom}")
{
    public FeedCursor ResumeFrom { get; } = resumeFrom;
}
