namespace Kv4.Services.Tokens;

/// <summary>Names the signal protocol reserves in `m.f` addresses.</summary>
public static class SignalUsers
{
    /// <summary>The sender of server frames: `"f":"/&lt;channel&gt;/__sys__"`.</summary>
    public const string System = "__sys__";
}
