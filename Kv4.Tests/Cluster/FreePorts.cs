using System.Net;
using System.Net.Sockets;

namespace Kv4.Tests.Cluster;

/// <summary>Ports nothing listens on now, picked by the kernel (bind to 0), for cluster nodes a test starts.</summary>
internal static class FreePorts
{
    public static int Next()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
