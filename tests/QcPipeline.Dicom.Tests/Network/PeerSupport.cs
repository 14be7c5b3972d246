using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A <see cref="DicomServer"/> accepting on an ephemeral loopback port for one test, collecting the
/// association summaries. Dispose cancels the accept loop and waits for every association to end.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _cts = new(TimeSpan.FromSeconds(120));
    private readonly List<AssociationSummary> _summaries = [];
    private readonly Task _loop;

    public TestServer(DicomServerOptions? options = null, IStoreHandler? handler = null, IFindHandler? findHandler = null)
    {
        _listener.Start();
        Server = new DicomServer(options ?? new DicomServerOptions { AeTitle = "QCPIPE" }, handler, null, findHandler);
        _loop = Server.RunAsync(_listener, s => { lock (_summaries) _summaries.Add(s); }, _cts.Token);
    }

    public DicomServer Server { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public string PortText => Port.ToString(CultureInfo.InvariantCulture);
    public CancellationToken Token => _cts.Token;

    public AssociationSummary[] Summaries { get { lock (_summaries) return [.. _summaries]; } }

    /// <summary>Waits until at least <paramref name="count"/> associations have ended and returns all summaries.</summary>
    public async Task<AssociationSummary[]> WaitForSummaries(int count, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        while (deadline.Elapsed < limit)
        {
            lock (_summaries) if (_summaries.Count >= count) return [.. _summaries];
            await Task.Delay(10);
        }
        throw new TimeoutException($"{Summaries.Length} association summaries after {limit.TotalSeconds} s, expected {count}");
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        await _loop;
        _cts.Dispose();
    }
}

/// <summary>Runs a peer tool (DCMTK, OpenJPEG) asynchronously with a timeout. DCMTK network tools always get
/// TCP_NODELAY=1: without it DCMTK's Nagle + our delayed ACKs turn each small PDU into a 40 ms wait.</summary>
internal static class PeerTool
{
    public sealed record Result(string Tool, IReadOnlyList<string> Arguments, int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed)
    {
        public string Text => StdOut + StdErr;
        public override string ToString() => $"{Tool} {string.Join(' ', Arguments)} -> exit {ExitCode} in {Elapsed.TotalMilliseconds:0} ms\n{StdOut}{StdErr}";
    }

    public static async Task<Result> RunAsync(string tool, IEnumerable<string> arguments, TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        psi.Environment["TCP_NODELAY"] = "1";
        if (environment is not null) foreach (var (k, v) in environment) psi.Environment[k] = v;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {tool}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* gone */ }
            throw new TimeoutException($"{tool} {string.Join(' ', psi.ArgumentList)} did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s\n{await stderr}");
        }
        return new Result(tool, [.. psi.ArgumentList], p.ExitCode, await stdout, await stderr, sw.Elapsed);
    }

    public static Task<Result> RunAsync(string tool, params string[] arguments) => RunAsync(tool, arguments, null);

    /// <summary>Runs and asserts exit 0.</summary>
    public static async Task<Result> MustRunAsync(string tool, params string[] arguments)
    {
        var r = await RunAsync(tool, arguments, null);
        Assert.True(r.ExitCode == 0, r.ToString());
        return r;
    }

    public static bool Exists(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));
}

/// <summary>Data set comparison through DCMTK's dcmdump: DCMTK decodes both files (any transfer syntax, inflating
/// deflated ones, byte-swapping big endian values) and prints the values, so equal dumps mean equal data sets.</summary>
internal static class DcmdumpCompare
{
    /// <summary>dcmdump's data set lines: without the header lines, the File Meta group and comments.</summary>
    public static async Task<List<string>> DatasetLines(string path)
    {
        var r = await PeerTool.RunAsync("dcmdump", ["-q", "+L", path], TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, r.ToString());
        return r.StdOut.Split('\n')
            .Select(l => l.TrimEnd('\r'))
            .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.TrimStart().StartsWith("(0002,", StringComparison.Ordinal))
            .ToList();
    }

    public static async Task AssertSameDataset(string expectedPath, string actualPath)
    {
        var expected = await DatasetLines(expectedPath);
        var actual = await DatasetLines(actualPath);
        if (expected.SequenceEqual(actual)) return;
        int i = 0;
        while (i < Math.Min(expected.Count, actual.Count) && expected[i] == actual[i]) i++;
        string Line(List<string> l) => i < l.Count ? (l[i].Length > 300 ? l[i][..300] + "..." : l[i]) : "<end>";
        Assert.Fail($"data sets differ at dump line {i} ({expected.Count} vs {actual.Count} lines)\n expected: {Line(expected)}\n actual:   {Line(actual)}\n({expectedPath} vs {actualPath})");
    }
}

/// <summary>Test inputs made from the repository's CT phantom.</summary>
internal static class PeerInputs
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string PhantomCt(int n) => Path.Combine(RepoRoot, "phantoms", "ct-water-200mm", $"CT{n:0000}.dcm");

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "QcPipeline.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (QcPipeline.sln) not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Copies <paramref name="source"/> <paramref name="count"/> times with new SOP Instance UIDs (and the
    /// same series), in the source's transfer syntax. Returns the paths and UIDs.</summary>
    public static List<(string Path, string SopInstanceUid)> Copies(string source, string directory, int count, string prefix)
    {
        System.IO.Directory.CreateDirectory(directory);
        using var file = DicomFile.Open(source);
        var list = new List<(string, string)>(count);
        for (int i = 0; i < count; i++)
        {
            var uid = NewUid();
            var ds = file.Dataset.Clone();
            ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, uid);
            ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, (i + 1).ToString(CultureInfo.InvariantCulture));
            var path = Path.Combine(directory, $"{prefix}{i:000}.dcm");
            new DicomFile(ds, null, file.TransferSyntax).Save(path, file.TransferSyntax);
            list.Add((path, uid));
        }
        return list;
    }

    /// <summary>A UUID-derived UID (PS3.5 §B.2).</summary>
    public static string NewUid() => "2.25." + new System.Numerics.BigInteger(Guid.NewGuid().ToByteArray(), isUnsigned: true).ToString(CultureInfo.InvariantCulture);

    /// <summary>The Part 10 file's data set bytes (after the File Meta).</summary>
    public static byte[] DatasetBytes(string path, out string sopClass, out string sopInstance, out string transferSyntax)
    {
        using var file = DicomFile.Open(path);
        sopClass = file.Dataset.GetString(DicomTags.SOPClassUID)!;
        sopInstance = file.Dataset.GetString(DicomTags.SOPInstanceUID)!;
        transferSyntax = file.TransferSyntax.Uid;
        return File.ReadAllBytes(path).AsSpan((int)file.DatasetOffset).ToArray();
    }
}
