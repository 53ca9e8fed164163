namespace Kv4.Cluster.Control;

/// <summary>A member's standing in the cluster, as the control plane decided it.</summary>
public enum MemberState
{
    /// <summary>Let in; takes partitions once it is heard from.</summary>
    Joining = 0,
    /// <summary>Heard from within the failure timeout: may lead partitions and be in their in-sync sets.</summary>
    Up = 1,
    /// <summary>Not heard from: leads nothing, in no in-sync set; keeps its copies, to catch up when it returns.</summary>
    Down = 2,
    /// <summary>Being decommissioned: its partitions move away, then it is removed.</summary>
    Leaving = 3,
}
