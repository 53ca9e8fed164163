using Kv4.Engine.Lanes;

namespace Kv4.Engine.Replication;

/// <summary>
/// One partition as this node holds it. <see cref="Epochs"/> lists (epoch, first sequence) oldest first: what a
/// primary compares with a backup's last record to find where their histories part (see
/// <see cref="StoreReplication.EndOfEpoch"/>).
/// </summary>
public sealed record PartitionState(
    int Partition,
    PartitionRole Role,
    int Epoch,
    long Sequence,
    long Position,
    long VisibleVersion,
    long DurableVersion,
    IReadOnlyList<(int Epoch, long FirstSequence)> Epochs);
