using MessagePack;

namespace Kv4.Cluster.Control;

/// <summary>
/// What the control plane agrees on: the members and where every partition lives. Immutable: each applied command
/// makes the next state (<see cref="Apply"/>), and <see cref="Version"/> counts them. Every node holds the same
/// sequence of states, in the same order, from its copy of the Raft log.
/// <code>
///   Bootstrap(n1 n2 n3, 4 partitions, 2 replicas)   v1  p0 e1 n1 [n1 n2]  p1 e1 n2 [n2 n3] ...
///   SetMemberState(n2, Down)                        v2  n2 down; p0 in-sync [n1], config 1 (p1, led by n2, unchanged)
///   SetPartition(p1, config 0 → e2 n3 [n2 n3] in-sync [n3])   v3  p1 e2 n3, config 1
///   SetPartition(p1, config 0 → ...)                refused: p1 is at config 1 (decided on an old view)
/// </code>
/// </summary>
[MessagePackObject]
public sealed record ClusterState
{
    public static readonly ClusterState Empty = new();

    [Key(0)] public long Version { get; init; }
    [Key(1)] public int PartitionCount { get; init; }
    [Key(2)] public int Replicas { get; init; }
    [Key(3)] public MemberRecord[] Members { get; init; } = [];
    [Key(4)] public PartitionRecord[] Partitions { get; init; } = [];

    [IgnoreMember] public bool IsBootstrapped => PartitionCount > 0;

    public MemberRecord? Member(string name) => Array.Find(Members, m => m.Name == name);

    public MemberRecord? MemberAt(string endpoint) => Array.Find(Members, m => m.Endpoint == endpoint);

    public bool IsUp(string? name) => name is not null && Member(name)?.State is MemberState.Up or MemberState.Leaving;

    /// <summary>The outcome of a command: the next state, or the reason it does not apply (the state is then unchanged).</summary>
    public (ClusterState Next, string? Refusal) Apply(ClusterCommand command)
    {
        var refusal = command switch
        {
            Bootstrap b => IsBootstrapped ? "already bootstrapped" : b.Partitions.Length != b.PartitionCount ? "one record per partition" : null,
            AddMember a => string.IsNullOrEmpty(a.Member.Name) || string.IsNullOrEmpty(a.Member.Endpoint) ? "a member needs a name and an endpoint"
                : Array.Exists(Members, m => m.Name != a.Member.Name && m.Endpoint == a.Member.Endpoint) ? "another member has that endpoint" : null,
            SetMemberState s => Member(s.Name) is not { } m ? "no such member"
                : s.Expected is { } expected && m.State != expected ? $"the member is {m.State}" : null,
            SetPartition s => s.Partition < 0 || s.Partition >= PartitionCount ? "no such partition"
                : Partitions[s.Partition].Config != s.ExpectedConfig ? $"partition {s.Partition} is at config {Partitions[s.Partition].Config}"
                : s.Record.Epoch < Partitions[s.Partition].Epoch ? "an epoch cannot go down"
                : s.Record.Primary is { } primary && !s.Record.IsInSync(primary) ? "the primary must be in sync"
                : !s.Record.InSync.All(s.Record.IsReplica) ? "the in-sync set is a subset of the replicas" : null,
            RemoveMember r => Member(r.Name) is null ? "no such member"
                : Array.Exists(Partitions, p => p.IsReplica(r.Name)) ? "the member still holds partitions" : null,
            _ => "unknown command",
        };
        if (refusal is not null) return (this, refusal);
        var next = command switch
        {
            Bootstrap b => this with { PartitionCount = b.PartitionCount, Replicas = b.Replicas, Members = Sorted(b.Members), Partitions = b.Partitions },
            AddMember a => this with
            {
                Members = Sorted([.. Members.Where(m => m.Name != a.Member.Name),
                    Member(a.Member.Name) is { } old ? old with { Endpoint = a.Member.Endpoint, Url = a.Member.Url ?? old.Url } : a.Member]),
            },
            SetMemberState s => WithMemberState(s.Name, s.State),
            SetPartition s => this with
            {
                Partitions = [.. Partitions.Select((p, i) => i == s.Partition ? s.Record with { Config = s.ExpectedConfig + 1 } : p)],
            },
            RemoveMember r => this with { Members = [.. Members.Where(m => m.Name != r.Name)] },
            _ => this,
        };
        return (next with { Version = Version + 1 }, null);
    }

    /// <summary>
    /// The member's new state; a member going down also leaves the in-sync set of every partition whose primary is up,
    /// as the controller would decide at once anyway, so that those primaries stop waiting for it in the same commit
    /// (a write held up by the dead backup goes on as soon as the node is declared down, not after the controller got
    /// round to its partition). A partition the member led keeps it in sync: the controller promotes a new primary.
    /// </summary>
    private ClusterState WithMemberState(string name, MemberState state)
    {
        var next = this with { Members = [.. Members.Select(m => m.Name == name ? m with { State = state } : m)] };
        if (state != MemberState.Down) return next;
        return next with
        {
            Partitions = [.. Partitions.Select(p => p.Primary != name && next.IsUp(p.Primary) && p.IsInSync(name)
                ? p with { InSync = [.. p.InSync.Where(n => n != name)], Config = p.Config + 1 }
                : p)],
        };
    }

    private static MemberRecord[] Sorted(IEnumerable<MemberRecord> members) => [.. members.OrderBy(m => m.Name, StringComparer.Ordinal)];
}
