using System.Diagnostics;
using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Service.Tests;

public sealed record ProcResult(int ExitCode, string StdOut, string StdErr)
{
    public string All => StdOut + StdErr;
}

/// <summary>Repository paths, processes (DCMTK always with TCP_NODELAY=1), test input and index queries.</summary>
public static partial class Support
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>A committed phantom sample's manifest (<c>phantoms/{sample}/manifest.json</c>): the simulator truth of
    /// <paramref name="metric"/>.</summary>
    public static double PhantomTruth(string sample, string metric)
    {
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot, "phantoms", sample, "manifest.json")));
        return manifest.RootElement.GetProperty("truth").GetProperty(metric).GetProperty("value").GetDouble();
    }

    /// <summary>The Series Instance UID of a committed phantom sample, from its manifest.</summary>
    public static string PhantomSeriesUid(string sample)
    {
        using var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoRoot, "phantoms", sample, "manifest.json")));
        return manifest.RootElement.GetProperty("seriesInstanceUid").GetString()!;
    }

    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "QcPipeline.sln"))) return d.FullName;
        throw new InvalidOperationException("QcPipeline.sln not found above the test directory");
    }

    /// <summary>The built service executable of the same configuration as the tests (bin/Release or bin/Debug).</summary>
    public static string ServiceDll
    {
        get
        {
            var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
            return Path.Combine(RepoRoot, "src", "QcPipeline.Service", "bin", config, "net10.0", "QcPipeline.Service.dll");
        }
    }

    public static string NewTempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static async Task<ProcResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["TCP_NODELAY"] = "1";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish");
        }
        return new ProcResult(p.ExitCode, await so, await se);
    }

    public static Task<ProcResult> EchoScuAsync(int port, string calledAe = "QCPIPE", string callingAe = "ECHOSCU") =>
        RunAsync("echoscu", ["-aet", callingAe, "-aec", calledAe, "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>storescu -v over one association; the verbose output lists each file and its response.</summary>
    public static Task<ProcResult> StoreScuAsync(int port, IEnumerable<string> files, string callingAe = "STORESCU", TimeSpan? timeout = null, string[]? options = null) =>
        RunAsync("storescu", ["-v", .. options ?? [], "-aet", callingAe, "-aec", "QCPIPE", "127.0.0.1", port.ToString(System.Globalization.CultureInfo.InvariantCulture), .. files], timeout);

    /// <summary>Per file sent, the status storescu reported ("Success", "Refused: OutOfResources", ...), from <c>storescu -v</c>.</summary>
    public static Dictionary<string, string> StoreResponses(string verboseOutput)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var line in verboseOutput.Split('\n'))
        {
            var m = SendingFile().Match(line);
            if (m.Success) { current = m.Groups[1].Value.Trim(); continue; }
            m = StoreResponse().Match(line);
            if (m.Success && current is not null) { result[current] = m.Groups[1].Value.Trim(); current = null; }
        }
        return result;
    }

    [GeneratedRegex(@"Sending file: (.+)$")]
    private static partial Regex SendingFile();

    [GeneratedRegex(@"Received Store Response \((.+)\)")]
    private static partial Regex StoreResponse();

    /// <summary>dcmdump of the data set only: no group 0002, no comment lines, so a stored file compares with its original.</summary>
    public static async Task<string> DumpDatasetAsync(string path)
    {
        var r = await RunAsync("dcmdump", ["+L", "-M", path]);
        Assert.True(r.ExitCode == 0, r.All);
        var sb = new StringBuilder();
        foreach (var line in r.StdOut.Split('\n'))
        {
            var t = line.TrimEnd();
            if (t.Length == 0 || t.StartsWith('#') || t.TrimStart().StartsWith("(0002,", StringComparison.Ordinal)) continue;
            sb.Append(t).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>SHA-256 (hex) of a Part 10 file's data set bytes, as the index records it.</summary>
    public static string DatasetSha256(string path)
    {
        long offset;
        using (var h = DicomFile.Open(path, DicomReadOptions.HeaderOnly)) offset = h.DatasetOffset;
        using var fs = File.OpenRead(path);
        fs.Position = offset;
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs));
    }

    public static string NewUid() => "2.25." + new BigInteger(Guid.NewGuid().ToByteArray(), isUnsigned: true).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly Lazy<DicomFile> CtTemplate = new(() =>
    {
        using var rle = DicomFile.Open(Path.Combine(RepoRoot, "phantoms", "ct-water-200mm", "CT0001.dcm"));
        return DicomTranscoder.Transcode(rle, TransferSyntax.ExplicitVRLittleEndian);
    });

    public sealed record TestInstance(string Path, string StudyUid, string SeriesUid, string SopInstanceUid);

    /// <summary>Explicit VR LE CT images (512×512, ~0.5 MB) from the committed water phantom sample, with new UIDs, one series.</summary>
    public static List<TestInstance> MakeCtFiles(string dir, int count, string? studyUid = null, string? seriesUid = null)
    {
        Directory.CreateDirectory(dir);
        studyUid ??= NewUid();
        seriesUid ??= NewUid();
        var list = new List<TestInstance>();
        for (int i = 0; i < count; i++)
        {
            var sop = NewUid();
            var path = Path.Combine(dir, $"CT{i + 1:D4}.dcm");
            WriteVariant(path, studyUid, seriesUid, sop, i + 1, null);
            list.Add(new TestInstance(path, studyUid, seriesUid, sop));
        }
        return list;
    }

    /// <summary>Writes one CT image with the given UIDs; <paramref name="seriesDescription"/> changes the content.</summary>
    public static void WriteVariant(string path, string study, string series, string sop, int instanceNumber, string? seriesDescription)
    {
        DicomDataset ds;
        lock (CtTemplate) ds = CtTemplate.Value.Dataset.Clone();
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, study);
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, series);
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, sop);
        ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, instanceNumber);
        if (seriesDescription is not null) ds.AddOrUpdate(DicomTags.SeriesDescription, DicomVR.LO, seriesDescription);
        new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(path, TransferSyntax.ExplicitVRLittleEndian);
    }

    /// <summary>Index rows read straight from the SQLite file (no pooling, so nothing stays open).</summary>
    public sealed record Row(string SopInstanceUid, string Path, long Size, string Sha256, int Version, string Source, string? CallingAe);

    public static List<Row> Rows(string dbPath)
    {
        using var c = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT SopInstanceUid, Path, Size, Sha256, Version, Source, CallingAe FROM Instances";
        using var r = cmd.ExecuteReader();
        var rows = new List<Row>();
        while (r.Read()) rows.Add(new Row(r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt32(4), r.GetString(5), r.IsDBNull(6) ? null : r.GetString(6)));
        return rows;
    }

    public static List<(string Sop, string Kind, string? Old, string? New)> Events(string dbPath)
    {
        using var c = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT SopInstanceUid, Kind, OldSha256, NewSha256 FROM IngestEvents";
        using var r = cmd.ExecuteReader();
        var list = new List<(string, string, string?, string?)>();
        while (r.Read()) list.Add((r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3)));
        return list;
    }

    public static void TryDeleteDir(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
