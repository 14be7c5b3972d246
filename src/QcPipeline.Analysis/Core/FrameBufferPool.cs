using System.Collections.Concurrent;

namespace QcPipeline.Analysis;

/// <summary>Pixel arrays of decoded frames (<see cref="AnalysisImage.Pixels"/>), kept between series so that a long-running
/// worker reuses the same memory instead of allocating a fresh frame-sized array per slice. Frame arrays are large
/// (a 512 × 512 CT slice is 1 MB) and land on the large object heap; allocated anew per slice, the process keeps
/// returning memory to the kernel and faulting it back in, which costs a third of the worker's CPU and slows two
/// worker processes on the same machine down together (docs/benchmarks.md, "Pipeline").
/// <para>Arrays are handed out at their exact length (analyses take <c>Pixels.Length</c> as Width × Height) and not
/// cleared: <see cref="AnalysisImage.FromDicom(QcPipeline.Dicom.DicomFile, int, FrameBufferPool?)"/> writes every value.
/// At most <see cref="MaxRetainedBytes"/> are kept; beyond that a returned array is left to the garbage collector.
/// Thread-safe.</para></summary>
public sealed class FrameBufferPool(long maxRetainedBytes)
{
    private readonly ConcurrentDictionary<int, ConcurrentStack<float[]>> _free = new();
    private long _retained;

    /// <summary>The most this pool keeps (bytes of float arrays not handed out).</summary>
    public long MaxRetainedBytes { get; } = maxRetainedBytes >= 0 ? maxRetainedBytes : throw new ArgumentOutOfRangeException(nameof(maxRetainedBytes));

    /// <summary>Bytes kept now.</summary>
    public long RetainedBytes => Interlocked.Read(ref _retained);

    /// <summary>An array of exactly <paramref name="length"/> values; its contents are unspecified.</summary>
    public float[] Rent(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (_free.TryGetValue(length, out var stack) && stack.TryPop(out var array))
        {
            Interlocked.Add(ref _retained, -Bytes(array));
            return array;
        }
        return GC.AllocateUninitializedArray<float>(length);
    }

    /// <summary>Gives an array back (one that is no longer read or written anywhere).</summary>
    public void Return(float[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        long bytes = Bytes(array);
        // Reserve the room first (never above the limit, even for a moment), then keep the array.
        long seen = Interlocked.Read(ref _retained);
        while (true)
        {
            if (seen + bytes > MaxRetainedBytes) return; // full: left to the garbage collector
            long before = Interlocked.CompareExchange(ref _retained, seen + bytes, seen);
            if (before == seen) break;
            seen = before;
        }
        _free.GetOrAdd(array.Length, _ => new ConcurrentStack<float[]>()).Push(array);
    }

    private static long Bytes(float[] array) => array.LongLength * sizeof(float);
}
