using FASTER.core;

namespace Kv4.Benchmarks.Workload;

/// <summary>
/// FASTER.core's FasterLog with nothing of Kv4 around it: the floor under Kv4's put, which appends its
/// record to a FasterLog of the same settings (per-entry checksums, 4 MiB pages, 64 MiB in memory, a real
/// file). The caller enqueues ready framed records and calls <see cref="Commit"/> every <see cref="CommitEvery"/>
/// enqueues; a commit is issued and not waited for, as Kv4's interval commit is.
/// </summary>
public sealed class FasterLogPeer : IDisposable
{
    public const int CommitEvery = 4096;

    private readonly TempDirectory _dir = new("fasterlog");
    private readonly IDevice _device;
    private readonly FasterLog _log;

    public FasterLogPeer()
    {
        _device = Devices.CreateLogDevice(System.IO.Path.Combine(_dir.Path, "log"), preallocateFile: false, deleteOnClose: true);
        _log = new FasterLog(new FasterLogSettings
        {
            LogDevice = _device,
            LogCommitDir = System.IO.Path.Combine(_dir.Path, "commits"),
            PageSizeBits = 22,
            MemorySizeBits = 26,
            LogChecksum = LogChecksumType.PerEntry,
        });
    }

    public long Enqueue(byte[] record) => _log.Enqueue(record);

    public void Commit() => _log.Commit(spinWait: false);

    public void Dispose()
    {
        _log.Dispose();
        _device.Dispose();
        _dir.Dispose();
    }
}
