namespace Kv4.Services.Signal;

/// <summary>A member connected to another node.</summary>
public sealed record RemoteMember(string Node, string User, long Connection, long ConnectedAtMs)
{
    /// <summary>Of two connections of one user, the later one stays (ties: the greater node name, then connection id).</summary>
    public static bool IsLater(long atMs, string node, long connection, long thanAtMs, string thanNode, long thanConnection) =>
        atMs != thanAtMs ? atMs > thanAtMs
        : string.CompareOrdinal(node, thanNode) is var byNode && byNode != 0 ? byNode > 0
        : connection > thanConnection;
}
