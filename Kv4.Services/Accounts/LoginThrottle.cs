using System.Net;
using System.Net.Sockets;
using Kv4.Services.Api;

namespace Kv4.Services.Accounts;

/// <summary>
/// Makes a login, or a client address, that failed too often wait before its next attempt is checked at all: the
/// check is what costs (a password is a PBKDF2), so a waiting attempt is refused before anything is hashed.
/// Failures are counted per login (`elena:boss`: one name tried from many addresses) and per client address (one
/// address trying many names; an IPv6 client by its /64, which one host usually holds whole). A success clears its
/// login's count but not its address's, so one good account does not launder an address that sprays others.
/// With the defaults (<see cref="LoginOptions"/>: 5 per login, 20 per address, 15 min, waits of 1 s up to 60 s):
/// <code>
///   t0..t4     elena:boss fails 5 times from 203.0.113.7   the 5th starts a 1 s wait for elena:boss
///   t4+0.5s    elena:boss, right password, any address     refused, retry after 0.5 s, nothing hashed
///   t4+1s      elena:boss fails again                      a 2 s wait; then 4, 8 .. 60 s
///   t4+3s      elena:boss succeeds                         its count is cleared; 203.0.113.7 still has 6
/// </code>
/// A count is forgotten 15 minutes after its last failure. Both tables are bounded (<see cref="FailureTable{TKey}"/>).
/// </summary>
public sealed class LoginThrottle
{
    private readonly TimeProvider _clock;
    private readonly FailureTable<string> _logins;
    private readonly FailureTable<IPAddress> _addresses;
    private readonly Lock _gate = new();

    public LoginThrottle(LoginOptions options, TimeProvider clock)
    {
        if (!options.IsValid) throw new ArgumentOutOfRangeException(nameof(options), "Kv4:Login options out of range");
        _clock = clock;
        var window = TimeSpan.FromSeconds(options.WindowSeconds);
        var delay = TimeSpan.FromSeconds(options.DelaySeconds);
        var maxDelay = TimeSpan.FromSeconds(options.MaxDelaySeconds);
        _logins = new(options.FailuresAllowed, window, delay, maxDelay, options.MaxTracked);
        _addresses = new(options.AddressFailuresAllowed, window, delay, maxDelay, options.MaxTracked);
    }

    /// <summary>How many logins have failures remembered.</summary>
    public int TrackedLogins
    {
        get { lock (_gate) return _logins.Count; }
    }

    /// <summary>How many client addresses have failures remembered.</summary>
    public int TrackedAddresses
    {
        get { lock (_gate) return _addresses.Count; }
    }

    /// <summary>Whether an attempt of <paramref name="login"/> from <paramref name="client"/> may be checked now; if not, how long until it may.</summary>
    public bool TryAdmit(string login, IPAddress? client, out TimeSpan retryAfter)
    {
        var address = Key(client);
        var now = _clock.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            retryAfter = _logins.WaitFor(login, now);
            if (address is not null && _addresses.WaitFor(address, now) is var wait && wait > retryAfter) retryAfter = wait;
            if (retryAfter > TimeSpan.Zero) return false;
            _logins.Hold(login, now);
            if (address is not null) _addresses.Hold(address, now);
            return true;
        }
    }

    public void Failed(string login, IPAddress? client)
    {
        var address = Key(client);
        var now = _clock.GetUtcNow().UtcTicks;
        lock (_gate)
        {
            _logins.Fail(login, now);
            if (address is not null) _addresses.Fail(address, now);
        }
    }

    /// <summary>
    /// Clears the login's count. The address keeps its count and any wait its attempt held: a success must not
    /// cut short the waits of attempts running beside it.
    /// </summary>
    public void Succeeded(string login)
    {
        lock (_gate) _logins.Clear(login);
    }

    private static IPAddress? Key(IPAddress? client)
    {
        var address = ClientAddress.Canonical(client);
        if (address is not { AddressFamily: AddressFamily.InterNetworkV6 }) return address;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
