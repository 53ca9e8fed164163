namespace Kv4.Cluster.Bus;

/// <summary>What a node does with what other nodes say to it.</summary>
public interface IBusHandler
{
    /// <summary>Answers a call; a <see cref="BusCallException"/> goes back to the caller as its <see cref="BusFault"/>.</summary>
    ValueTask<BusMessage> HandleAsync(string peer, BusMessage request, CancellationToken cancellationToken);

    /// <summary>Takes a notice (no answer); must not block.</summary>
    void Notice(string peer, BusMessage notice);
}
