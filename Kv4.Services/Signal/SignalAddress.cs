namespace Kv4.Services.Signal;

/// <summary>
/// The `m.f` addresses of the signal protocol: "/&lt;channel&gt;/&lt;user&gt;", and "/&lt;channel&gt;/__sys__" for the
/// server. The root channel ("") gives "/&lt;user&gt;". Clients take the part after the last '/' as the peer name.
/// </summary>
public static class SignalAddress
{
    public static string Of(string channel, string user) => channel.Length == 0 ? "/" + user : "/" + channel + "/" + user;

    /// <summary>"/room/1/alice" or "alice" → "alice": clients may address a peer either way.</summary>
    public static string PeerName(string target)
    {
        var slash = target.LastIndexOf('/');
        return slash < 0 ? target : target[(slash + 1)..];
    }
}
