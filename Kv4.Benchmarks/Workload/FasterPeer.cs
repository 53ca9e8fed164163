using FASTER.core;

namespace Kv4.Benchmarks.Workload;

/// <summary>
/// FASTER.core's FasterKV as the peer Kv4 is compared with: variable-length byte keys and values
/// (SpanByte), its hybrid log on a real file (Devices.CreateLogDevice), 64 MiB of it in memory like
/// Kv4's log buffer. One session per thread, because a FASTER session is single-threaded.
/// It keeps only the latest value of each key (an upsert in the mutable region updates in place).
/// </summary>
public sealed unsafe class FasterPeer : IDisposable
{
    private readonly TempDirectory _dir = new("faster");
    private readonly IDevice _device;
    private readonly FasterKV<SpanByte, SpanByte> _store;
    private readonly ClientSession<SpanByte, SpanByte, SpanByte, SpanByteAndMemory, Empty, SpanByteFunctions<Empty>>[] _sessions;

    public FasterPeer(int sessions)
    {
        _device = Devices.CreateLogDevice(System.IO.Path.Combine(_dir.Path, "hlog.log"), deleteOnClose: true);
        _store = new FasterKV<SpanByte, SpanByte>(new FasterKVSettings<SpanByte, SpanByte>
        {
            IndexSize = 1L << 22,
            LogDevice = _device,
            PageSize = 1L << 22,
            MemorySize = 1L << 26,
        });
        _sessions = Enumerable.Range(0, sessions)
            .Select(_ => _store.For(new SpanByteFunctions<Empty>()).NewSession<SpanByteFunctions<Empty>>())
            .ToArray();
    }

    public void Upsert(int session, byte[] key, byte[] value)
    {
        fixed (byte* k = key, v = value)
        {
            var keySpan = SpanByte.FromPointer(k, key.Length);
            var valueSpan = SpanByte.FromPointer(v, value.Length);
            _sessions[session].Upsert(ref keySpan, ref valueSpan);
        }
    }

    /// <summary>Reads the value into <paramref name="buffer"/> (no allocation while it fits) and returns its length, or -1.</summary>
    public int Read(int session, byte[] key, Span<byte> buffer)
    {
        fixed (byte* k = key, b = buffer)
        {
            var keySpan = SpanByte.FromPointer(k, key.Length);
            var input = default(SpanByte);
            var output = new SpanByteAndMemory(b, buffer.Length);
            var s = _sessions[session];
            var status = s.Read(ref keySpan, ref input, ref output);
            if (status.IsPending)
            {
                // Not expected with the working set in memory; complete it so a miss is still correct.
                s.CompletePendingWithOutputs(out var outputs, wait: true);
                using (outputs)
                {
                    if (!outputs.Next()) return -1;
                    status = outputs.Current.Status;
                    output = outputs.Current.Output;
                }
            }
            if (!status.Found) return -1;
            var length = output.Length;
            output.Memory?.Dispose();
            return length;
        }
    }

    /// <summary>
    /// Reads keys[from..to) inside one epoch-protected region (FASTER's UnsafeContext): its fastest
    /// read path, for a caller that can batch. Returns how many were found.
    /// </summary>
    public int ReadBatch(int session, byte[][] keys, int from, int to, Span<byte> buffer)
    {
        var context = _sessions[session].UnsafeContext;
        var found = 0;
        context.BeginUnsafe();
        try
        {
            fixed (byte* b = buffer)
            {
                for (var i = from; i < to; i++)
                {
                    fixed (byte* k = keys[i])
                    {
                        var keySpan = SpanByte.FromPointer(k, keys[i].Length);
                        var input = default(SpanByte);
                        var output = new SpanByteAndMemory(b, buffer.Length);
                        var status = context.Read(ref keySpan, ref input, ref output);
                        if (status.IsPending) context.CompletePending(wait: true);
                        else if (status.Found) found++;
                        output.Memory?.Dispose();
                    }
                }
            }
        }
        finally
        {
            context.EndUnsafe();
        }
        return found;
    }

    public void Dispose()
    {
        foreach (var s in _sessions) s.Dispose();
        _store.Dispose();
        _device.Dispose();
        _dir.Dispose();
    }
}
