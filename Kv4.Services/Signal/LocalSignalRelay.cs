namespace Kv4.Services.Signal;

/// <summary>A node alone: nobody else to tell or ask.</summary>
public sealed class LocalSignalRelay(string node) : ISignalRelay
{
    public string Node => node;

    public void Publish(SignalEvent signal, IReadOnlyList<string>? nodes)
    {
    }

    public Task OpenChannelAsync(string bucket, string channel) => Task.CompletedTask;

    public Task<IReadOnlyList<(string Path, string User)>> KickElsewhereAsync(string bucket, string path, string? user, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<(string, string)>>([]);
}
