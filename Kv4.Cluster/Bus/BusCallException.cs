namespace Kv4.Cluster.Bus;

/// <summary>A bus call that did not get its answer: the other node refused it (<see cref="Fault"/>), or could not be reached.</summary>
public sealed class BusCallException : Exception
{
    public BusCallException(BusFault fault) : base($"{fault.Code}: {fault.Message}") => Fault = fault;

    public BusCallException(string code, string message, Exception? inner = null, bool sent = true) : base($"{code}: {message}", inner)
    {
        Fault = new BusFault { Code = code, Message = message };
        Sent = sent;
    }

    /// <summary>False when the call never left this node (the other could not be reached): it surely did not run.</summary>
    public bool Sent { get; } = true;

    public BusFault Fault { get; }

    public string Code => Fault.Code;

    /// <summary>The outcome is unknown: the call may or may not have run on the other node.</summary>
    public bool Unreached => Fault.Code == BusFault.Unavailable;
}
