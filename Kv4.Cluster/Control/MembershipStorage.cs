using System.Net;
using DotNext.Buffers;
using DotNext.Net;
using DotNext.Net.Cluster.Consensus.Raft.Membership;
using Kv4.Cluster.Transport;

namespace Kv4.Cluster.Control;

/// <summary>The Raft group's membership (the members' cluster endpoints), kept in a file beside the write-ahead log.</summary>
internal sealed class MembershipStorage(string fileName) : PersistentClusterConfigurationStorage<EndPoint>(fileName)
{
    protected override IEqualityComparer<EndPoint> Comparer => NodeEndpoints.Comparer;

    protected override void Encode(EndPoint address, ref BufferWriterSlim<byte> writer) => writer.WriteEndPoint(address);

    protected override EndPoint Decode(ref SequenceReader reader) => reader.ReadEndPoint();
}
