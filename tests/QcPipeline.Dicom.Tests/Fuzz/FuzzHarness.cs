using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Tests.Fuzz;

/// <summary>Runs one fuzz input through every read path and checks the contract: the result is a dataset or a
/// <see cref="DicomFormatException"/> naming an offset; nothing else is thrown, nothing hangs, and the parse
/// allocates no more than the input justifies. Failures are collected with the case id (seed and index) that
/// regenerates the input, and the input itself is saved under <see cref="FailureDir"/> for minimisation.</summary>
internal sealed class FuzzHarness : IDisposable
{
    /// <summary>A parse taking longer than this is a hang. Generous: CI shares 2 cores with the build, and a real
    /// hang never ends.</summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Bytes a parse may allocate per input byte (the element objects and list slots for the smallest
    /// possible element or item, with list growth), plus a constant for the fixed buffers (64 KB stream chunks).</summary>
    public const long AllocationFactor = 16;
    public const long AllocationConstant = 1 << 20;

    public static string FailureDir { get; } = Path.Combine(Path.GetTempPath(), "qc-fuzz-failures");

    private readonly ConcurrentQueue<string> _failures = new();
    private readonly Watchdog _watchdog = new();
    private readonly string _suite;
    private int _cases, _parsed, _rejected;
    private bool _exercised; // the typed accessors run on the first dataset of a case; later read paths only touch the values

    public FuzzHarness(string suite)
    {
        _suite = suite;
        WarmUp();
    }

    /// <summary>One-time static tables (the frozen PS3.6 dictionary, code-page encodings) are built on first use;
    /// build them before measuring so the allocation cap judges the parse, not the process start.</summary>
    private static void WarmUp()
    {
        DicomDictionary.Lookup(new DicomTag(0x00100010));
        DicomDictionary.TryGetTag("PatientName", out _);
        foreach (var term in new[] { "ISO_IR 100", "ISO_IR 192", "GB18030", "GBK", "ISO 2022 IR 58" })
            QcPipeline.Dicom.CharacterSets.DicomCharacterSet.Parse([term]).Decode("A"u8, DicomVR.PN);
    }

    public int Cases => _cases;

    /// <summary>Options used for every case: small inflation limit so a bomb cannot take the test host down.</summary>
    public static DicomReadOptions Whole { get; } = new() { MaxInflatedBytes = 4 << 20 };
    public static DicomReadOptions Header { get; } = Whole with { StopBeforePixelData = true };

    /// <summary>Checks one input. <paramref name="caseId"/> must be enough to regenerate it (suite, seed, index, what was done).</summary>
    public void Check(byte[] input, string caseId, bool viaFile = false, bool viaStream = true, DicomReadOptions? whole = null, DicomReadOptions? header = null)
    {
        Interlocked.Increment(ref _cases);
        _exercised = false;
        whole ??= Whole;
        header ??= Header;
        long cap = AllocationFactor * (input.Length + (whole.MaxInflatedBytes < int.MaxValue && LooksDeflated(input) ? whole.MaxInflatedBytes : 0)) + AllocationConstant;

        // Header-only reads of a stream parse the prefix again after each 4x growth of the buffer: at most 1/3 more
        // parsing, plus the buffers themselves.
        long headerCap = 2 * cap;
        Run(caseId, "Read(byte[])", input, cap, () => DicomFile.Read(input, whole));
        Run(caseId, "Read(byte[], header-only)", input, cap, () => DicomFile.Read(input, header));
        if (viaStream)
        {
            int chunkSeed = input.Length;
            Run(caseId, "ReadAsync(non-seekable)", input, cap, () => DicomFile.ReadAsync(new NonSeekableStream(input, chunkSeed), whole).GetAwaiter().GetResult());
            Run(caseId, "ReadAsync(non-seekable, header-only)", input, headerCap, () => DicomFile.ReadAsync(new NonSeekableStream(input, chunkSeed + 1), header).GetAwaiter().GetResult());
        }
        if (viaFile)
        {
            var path = Path.Combine(Path.GetTempPath(), $"qc-fuzz-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}.dcm");
            File.WriteAllBytes(path, input);
            try
            {
                Run(caseId, "Open(path, header-only)", input, headerCap, () => DicomFile.Open(path, header));
                Run(caseId, "Open(path, pooled)", input, cap, () => DicomFile.Open(path, whole with { UsePooledBuffer = true }));
            }
            finally { File.Delete(path); }
        }
    }

    private static bool LooksDeflated(byte[] input) =>
        input.AsSpan().IndexOf("1.2.840.10008.1.2.1.99"u8) >= 0 || input.AsSpan().IndexOf("1.2.840.10008.1.2.1.99"u8[..^1]) >= 0;

    private void Run(string caseId, string path, byte[] input, long cap, Func<DicomFile> read)
    {
        // Runs on the calling thread (exact allocation count, no thread-pool blocking); the watchdog flags a case
        // that takes longer than CaseTimeout and ends the process if one never returns.
        string? problem = null;
        long allocated;
        var sw = Stopwatch.StartNew();
        _watchdog.Enter(caseId + " " + path);
        long before = GC.GetAllocatedBytesForCurrentThread();
        DicomFile? file = null;
        try
        {
            file = read();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Interlocked.Increment(ref _parsed);
        }
        catch (DicomFormatException ex)
        {
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Interlocked.Increment(ref _rejected);
            if (ex.Offset < 0) problem = $"DicomFormatException without an offset: {ex.Message}";
            else if (ex.Offset > input.Length + Whole.MaxInflatedBytes) problem = $"DicomFormatException offset {ex.Offset} beyond the input: {ex.Message}";
        }
        catch (Exception ex)
        {
            allocated = 0;
            problem = $"{ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}";
        }
        if (file is not null)
        {
            try
            {
                using (file)
                {
                    Exercise(file.FileMetaInformation, depth: 0, accessors: !_exercised);
                    Exercise(file.Dataset, depth: 0, accessors: !_exercised);
                    _exercised = true;
                }
            }
            catch (Exception ex)
            {
                problem = $"accessor threw {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}";
            }
        }
        _watchdog.Leave();
        if (problem is null && sw.Elapsed > CaseTimeout) problem = $"took {sw.Elapsed.TotalSeconds:F1} s (limit {CaseTimeout.TotalSeconds} s)";
        if (problem is null && allocated > cap) problem = $"allocated {allocated} bytes for a {input.Length}-byte input (cap {cap})";
        if (problem is not null) Fail(caseId, path, input, problem);
    }

    private void Fail(string caseId, string path, byte[] input, string problem)
    {
        var name = $"{_suite}-{caseId}".Replace(' ', '_').Replace('/', '_').Replace(':', '_');
        try
        {
            Directory.CreateDirectory(FailureDir);
            File.WriteAllBytes(Path.Combine(FailureDir, name + ".dcm"), input);
        }
        catch (IOException) { }
        _failures.Enqueue($"[{_suite} {caseId}] {path}: {problem}");
    }

    /// <summary>Every typed accessor on every element, recursively. None may throw on any parsed input.</summary>
    internal static void Exercise(DicomDataset ds, int depth, bool accessors = true)
    {
        _ = ds.CharacterSet;
        foreach (var item in ds)
        {
            var tag = item.Tag;
            if (accessors) Accessors(ds, item);
            switch (item)
            {
                case DicomElement e:
                    int sum = 0;
                    foreach (var b in e.Data.Span) sum += b; // every slice must lie inside the buffer
                    _ = sum;
                    break;
                case DicomSequence sq:
                    foreach (var child in sq.Items) Exercise(child, depth + 1, accessors);
                    break;
                case DicomFragmentSequence f:
                    _ = f.OffsetTable.Span.Length;
                    foreach (var frag in f.Fragments) _ = frag.Span.Length;
                    break;
            }
        }
    }

    private static void Accessors(DicomDataset ds, DicomItem item)
    {
        var tag = item.Tag;
        _ = ds.GetString(tag);
        _ = ds.GetStrings(tag);
        _ = ds.TryGetString(tag, out _, out _);
        _ = ds.TryGetDouble(tag, out _);
        _ = ds.TryGetDouble(tag, out _, 1);
        _ = ds.TryGetInt64(tag, out _);
        _ = ds.TryGetInt32(tag, out _);
        _ = ds.GetDoubles(tag);
        _ = ds.GetDate(tag);
        _ = ds.GetTime(tag);
        _ = ds.GetDateTime(tag);
        _ = ds.GetDateTime(tag, tag);
        _ = ds.GetTags(tag);
        if (ds.GetPersonName(tag) is { } pn) _ = pn.FamilyName + pn.GivenName + pn.Suffix + pn;
        _ = item.ToString();
    }

    /// <summary>Fails the test with every failure seen (the first 25 in full).</summary>
    public void AssertClean()
    {
        if (_failures.IsEmpty) return;
        var sb = new StringBuilder();
        sb.AppendLine($"{_failures.Count} failure(s) in {_cases} cases ({_parsed} reads parsed, {_rejected} rejected); inputs saved in {FailureDir}");
        foreach (var f in _failures.Take(25)) sb.AppendLine(f);
        Assert.Fail(sb.ToString());
    }

    public void Dispose() => _watchdog.Dispose();

    public override string ToString() => $"{_suite}: {_cases} cases, {_parsed} reads parsed, {_rejected} rejected";
}

/// <summary>A stream that cannot seek and returns short reads of varying size (deterministic from the seed).</summary>
internal sealed class NonSeekableStream(byte[] data, int seed) : Stream
{
    private readonly Random _random = new(seed);
    private int _pos;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(buffer.Length, data.Length - _pos), 1 + _random.Next(8192));
        data.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));
}

/// <summary>Ends the test process, naming the case, when one case runs for more than a minute (an endless loop
/// would otherwise hang CI with no clue); slower-than-limit cases that do finish are reported as failures.</summary>
internal sealed class Watchdog : IDisposable
{
    private static readonly TimeSpan Fatal = TimeSpan.FromSeconds(60);
    private readonly Timer _timer;
    private string? _case;
    private long _since;

    public Watchdog() { _timer = new Timer(_ => Tick(), null, 1000, 1000); }

    public void Enter(string caseId) { Volatile.Write(ref _since, Stopwatch.GetTimestamp()); Volatile.Write(ref _case, caseId); }
    public void Leave() => Volatile.Write(ref _case, null);
    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        var c = Volatile.Read(ref _case);
        if (c is not null && Stopwatch.GetElapsedTime(Volatile.Read(ref _since)) > Fatal)
            Environment.FailFast($"fuzz case hangs (> {Fatal.TotalSeconds} s): {c}");
        GC.KeepAlive(_timer);
    }
}
