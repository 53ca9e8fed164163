using System.Net;
using System.Net.Sockets;

namespace Kv4.Tests.Support;

/// <summary>
/// Ports for a process a test starts later on a port it is told (a cluster node, a server that must come back on its
/// own port, coturn). Not the kernel's pick (bind to 0): that port is in the ephemeral range, and between the pick and
/// the child's bind the kernel may give it to any outgoing connection as its local port ("address already in use" at a
/// node's start). Below that range only an explicit bind takes a port; each is checked free, and this process never
/// hands one out twice. The walk starts at a random place so that two test runs side by side rarely meet.
/// </summary>
internal sealed class FreePorts
{
    private static readonly (int Low, int High) Range = BelowEphemeral();
    private static readonly FreePorts Shared = new();
    private readonly Lock _gate = new();
    private int _cursor = Random.Shared.Next(Range.High - Range.Low);

    private FreePorts()
    {
    }

    public static int Next() => Shared.Take(udpToo: false);

    /// <summary>A port free for both TCP and UDP on 127.0.0.1.</summary>
    public static int NextTcpAndUdp() => Shared.Take(udpToo: true);

    private int Take(bool udpToo)
    {
        lock (_gate)
        {
            var size = Range.High - Range.Low;
            for (var attempt = 0; attempt < size; attempt++)
            {
                var port = Range.Low + _cursor++ % size;
                if (IsFree(port, udpToo)) return port;
            }
        }
        throw new InvalidOperationException($"no free port in [{Range.Low}, {Range.High})");
    }

    private static bool IsFree(int port, bool udpToo)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            if (!udpToo) return true;
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Up to 10,000 ports just below the kernel's ephemeral range (Linux: ip_local_port_range; elsewhere a guess).</summary>
    private static (int Low, int High) BelowEphemeral()
    {
        var low = 32768;
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
            low = int.Parse(text[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }
        var floor = Math.Max(1024, low - 10_000);
        return low - floor >= 1000 ? (floor, low) : (20_000, 30_000);
    }
}
