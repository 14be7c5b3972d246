using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Service.Tests;

/// <summary>One service with a known set of studies, loaded over DIMSE (storescu), shared by the QIDO-RS and WADO-RS tests.</summary>
public class DicomWebReadFixture : IAsyncLifetime
{
    public InProcessService Service { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public string Input { get; } = Support.NewTempDir("qcdwr");

    // Study A: CT, 2 instances (512x512 phantom slices), Doe^John, 2026-03-15, station CT01.
    public string StudyA { get; } = Support.NewUid();
    public string SeriesA { get; } = Support.NewUid();
    // Study B: MR multi-frame (3 frames 4x5, 16 bit) plus an OT single frame in a second series, Smith^Jane, 2025-12-31.
    public string StudyB { get; } = Support.NewUid();
    public string SeriesB1 { get; } = Support.NewUid();
    public string SeriesB2 { get; } = Support.NewUid();
    public string MultiFrameSop { get; } = Support.NewUid();
    public string SingleFrameSop { get; } = Support.NewUid();
    // Study C: GB18030 patient name, 2027-01-01, the phantom's RLE slice (encapsulated).
    public string StudyC { get; } = Support.NewUid();
    public string SeriesC { get; } = Support.NewUid();
    public string RleSop { get; } = Support.NewUid();
    public const string ChineseName = "Wang^XiaoMing=王^小明";

    public List<Support.TestInstance> StudyAFiles { get; private set; } = [];
    public Dictionary<string, string> FileBySop { get; } = new(StringComparer.Ordinal);

    public static byte[] MultiFramePixels { get; } = Enumerable.Range(0, 3 * 4 * 5 * 2).Select(i => (byte)(i * 7 + 1)).ToArray();

    /// <summary>Extra service arguments (the PostgreSQL variant puts the index there).</summary>
    protected virtual Task<string[]> ServiceArgsAsync() => Task.FromResult<string[]>([]);

    public virtual async Task InitializeAsync()
    {
        StudyAFiles = Support.MakeCtFiles(Path.Combine(Input, "a"), 2, StudyA, SeriesA);
        foreach (var f in StudyAFiles)
        {
            using var file = DicomFile.Open(f.Path);
            var ds = file.Dataset;
            ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, "Doe^John");
            ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "QC001");
            ds.AddOrUpdate(DicomTags.StudyDate, DicomVR.DA, "20260315");
            ds.AddOrUpdate(DicomTags.StudyTime, DicomVR.TM, "101500");
            ds.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "ACC-A1");
            ds.AddOrUpdate(DicomTags.StationName, DicomVR.SH, "CT01");
            ds.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, "QC water phantom");
            ds.AddOrUpdate(DicomTags.Modality, DicomVR.CS, "CT");
            ds.AddOrUpdate(DicomTags.SeriesNumber, DicomVR.IS, "3");
            var copy = new DicomFile(ds.Clone(), null, file.TransferSyntax);
            file.Dispose();
            copy.Save(f.Path, TransferSyntax.ExplicitVRLittleEndian);
            FileBySop[f.SopInstanceUid] = f.Path;
        }

        var mf = Small(StudyB, SeriesB1, MultiFrameSop, "Smith^Jane", "QC002", "20251231", "MR", "MR01", 3, 1);
        var sf = Small(StudyB, SeriesB2, SingleFrameSop, "Smith^Jane", "QC002", "20251231", "OT", "MR01", 1, 2);
        FileBySop[MultiFrameSop] = Save(mf, "mf.dcm");
        FileBySop[SingleFrameSop] = Save(sf, "sf.dcm");

        using (var rle = DicomFile.Open(Path.Combine(Support.RepoRoot, "phantoms", "ct-water-200mm", "CT0001.dcm")))
        {
            var ds = new DicomDataset();
            ds.AddOrUpdate(new DicomTag(0x00080005), DicomVR.CS, "GB18030"); // first, so the name below is encoded in GB18030
            foreach (var item in rle.Dataset) if (item.Tag.Value != 0x00080005 && item.Tag.Value != 0x00100010) ds.AddOrUpdate(item);
            ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, ChineseName);
            ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, StudyC);
            ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, SeriesC);
            ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, RleSop);
            ds.AddOrUpdate(DicomTags.StudyDate, DicomVR.DA, "20270101");
            ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, "QC003");
            ds.AddOrUpdate(DicomTags.StudyDescription, DicomVR.LO, "Phantom C");
            ds.AddOrUpdate(DicomTags.StationName, DicomVR.SH, "CT02");
            var path = Path.Combine(Input, "rle.dcm");
            new DicomFile(ds, null, rle.TransferSyntax).Save(path, rle.TransferSyntax);
            FileBySop[RleSop] = path;
        }

        Service = await InProcessService.StartAsync(extraArgs: ["--Storage:Fsync=false", .. await ServiceArgsAsync()]);
        Http = Service.CreateHttpClient();
        var r = await Support.StoreScuAsync(Service.DicomPort, FileBySop.Values.ToList(), options: ["-xr"]); // -xr: propose RLE Lossless too, so the RLE file is stored as RLE
        Assert.True(r.ExitCode == 0, r.All);
        if (File.Exists(Service.DbPath)) Assert.Equal(5, Support.Rows(Service.DbPath).Count);
    }

    internal static DicomDataset Small(string study, string series, string sop, string name, string id, string date, string modality, string station, int frames, int seriesNumber)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.SOPClassUID, DicomVR.UI, "1.2.840.10008.5.1.4.1.1.7.3"); // Multi-frame Grayscale Word SC
        ds.AddOrUpdate(DicomTags.SOPInstanceUID, DicomVR.UI, sop);
        ds.AddOrUpdate(DicomTags.StudyDate, DicomVR.DA, date);
        ds.AddOrUpdate(DicomTags.AccessionNumber, DicomVR.SH, "ACC-B1");
        ds.AddOrUpdate(DicomTags.Modality, DicomVR.CS, modality);
        ds.AddOrUpdate(DicomTags.StationName, DicomVR.SH, station);
        ds.AddOrUpdate(DicomTags.SeriesDescription, DicomVR.LO, "uniformity");
        ds.AddOrUpdate(DicomTags.PatientName, DicomVR.PN, name);
        ds.AddOrUpdate(DicomTags.PatientID, DicomVR.LO, id);
        ds.AddOrUpdate(DicomTags.StudyInstanceUID, DicomVR.UI, study);
        ds.AddOrUpdate(DicomTags.SeriesInstanceUID, DicomVR.UI, series);
        ds.AddOrUpdate(DicomTags.SeriesNumber, DicomVR.IS, seriesNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(DicomTags.InstanceNumber, DicomVR.IS, "1");
        ds.AddOrUpdate(DicomTags.SamplesPerPixel, DicomVR.US, (ushort)1);
        ds.AddOrUpdate(DicomTags.PhotometricInterpretation, DicomVR.CS, "MONOCHROME2");
        ds.AddOrUpdate(DicomTags.NumberOfFrames, DicomVR.IS, frames.ToString(System.Globalization.CultureInfo.InvariantCulture));
        ds.AddOrUpdate(DicomTags.Rows, DicomVR.US, (ushort)4);
        ds.AddOrUpdate(DicomTags.Columns, DicomVR.US, (ushort)5);
        ds.AddOrUpdate(DicomTags.BitsAllocated, DicomVR.US, (ushort)16);
        ds.AddOrUpdate(DicomTags.BitsStored, DicomVR.US, (ushort)16);
        ds.AddOrUpdate(DicomTags.HighBit, DicomVR.US, (ushort)15);
        ds.AddOrUpdate(DicomTags.PixelRepresentation, DicomVR.US, (ushort)0);
        ds.AddOrUpdate(new DicomElement(DicomTags.PixelData, DicomVR.OW, MultiFramePixels.AsSpan(0, frames * 40).ToArray()));
        return ds;
    }

    private string Save(DicomDataset ds, string name)
    {
        var path = Path.Combine(Input, name);
        new DicomFile(ds, null, TransferSyntax.ExplicitVRLittleEndian).Save(path, TransferSyntax.ExplicitVRLittleEndian);
        return path;
    }

    /// <summary>The stored copy of an instance (what WADO-RS must return byte for byte).</summary>
    public string StoredPath(string study, string series, string sop) => Path.Combine(Service.DataPath, "instances", study, series, sop + ".dcm");

    public virtual async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Service is not null) await Service.DisposeAsync();
        Support.TryDeleteDir(Input);
    }
}

/// <summary>The same data with the index on a real PostgreSQL (a private cluster, <see cref="PostgresFixture"/>): the query
/// paths (LIKE, upper(), date ranges) run in PostgreSQL.</summary>
public sealed class DicomWebReadPostgresFixture : DicomWebReadFixture
{
    private readonly PostgresFixture _pg = new();

    protected override async Task<string[]> ServiceArgsAsync()
    {
        await _pg.InitializeAsync();
        var cs = await _pg.CreateDatabaseAsync();
        return ["--Database:Provider=Postgres", $"--Database:ConnectionString={cs}"];
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _pg.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DicomWebReadPostgresCollection : ICollectionFixture<DicomWebReadPostgresFixture>
{
    public const string Name = "DicomWebReadPostgres";
}

[CollectionDefinition(Name)]
public sealed class DicomWebReadCollection : ICollectionFixture<DicomWebReadFixture>
{
    public const string Name = "DicomWebRead";
}

/// <summary>Test-side readers of DICOMweb responses.</summary>
public static class DicomWebReadClient
{
    public sealed record Part(string ContentType, byte[] Body);

    /// <summary>Splits a multipart/related body at its boundary (RFC 2046 §5.1.1) and checks each part's Content-Length.</summary>
    public static List<Part> ParseMultipart(HttpResponseMessage response, byte[] body)
    {
        var ct = response.Content.Headers.ContentType ?? throw new InvalidOperationException("no Content-Type");
        Assert.Equal("multipart/related", ct.MediaType);
        var boundary = ct.Parameters.Single(p => p.Name == "boundary").Value!.Trim('"');
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var parts = new List<Part>();
        int pos = IndexOf(body, delimiter, 0);
        Assert.Equal(0, pos);
        while (true)
        {
            pos += delimiter.Length;
            if (body.Length >= pos + 2 && body[pos] == '-' && body[pos + 1] == '-') break; // close delimiter
            Assert.True(body[pos] == '\r' && body[pos + 1] == '\n');
            pos += 2;
            int headerEnd = IndexOf(body, "\r\n\r\n"u8.ToArray(), pos);
            var headers = Encoding.ASCII.GetString(body, pos, headerEnd - pos).Split("\r\n")
                .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
            int start = headerEnd + 4;
            int next = IndexOf(body, [.. "\r\n"u8.ToArray(), .. delimiter], start);
            Assert.True(next >= 0, "part without a following delimiter");
            var content = body.AsSpan(start, next - start).ToArray();
            if (headers.TryGetValue("Content-Length", out var len)) Assert.Equal(long.Parse(len, System.Globalization.CultureInfo.InvariantCulture), content.Length);
            parts.Add(new Part(headers["Content-Type"], content));
            pos = next + 2;
        }
        return parts;
    }

    private static int IndexOf(byte[] haystack, byte[] needle, int from)
    {
        int i = haystack.AsSpan(from).IndexOf(needle);
        return i < 0 ? -1 : i + from;
    }

    public static async Task<(HttpResponseMessage Response, byte[] Body)> GetAsync(HttpClient http, string path, string? accept = null)
    {
        using var rq = new HttpRequestMessage(HttpMethod.Get, path);
        if (accept is not null) rq.Headers.TryAddWithoutValidation("Accept", accept);
        var rsp = await http.SendAsync(rq);
        return (rsp, await rsp.Content.ReadAsByteArrayAsync());
    }

    public static async Task<JsonElement> GetJsonArrayAsync(HttpClient http, string path)
    {
        var (rsp, body) = await GetAsync(http, path, "application/dicom+json");
        Assert.True(rsp.StatusCode == System.Net.HttpStatusCode.OK, $"{path}: {(int)rsp.StatusCode} {Encoding.UTF8.GetString(body)}");
        Assert.Equal("application/dicom+json", rsp.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
        return doc.RootElement.Clone();
    }

    /// <summary>The first value of an attribute in a DICOM JSON object, as text (PN: the Alphabetic group), or null.</summary>
    public static string? Value(JsonElement obj, string tag)
    {
        if (!obj.TryGetProperty(tag, out var a) || !a.TryGetProperty("Value", out var v) || v.GetArrayLength() == 0) return null;
        var first = v[0];
        return first.ValueKind switch
        {
            JsonValueKind.Object => first.TryGetProperty("Alphabetic", out var al) ? al.GetString() : first.ToString(),
            JsonValueKind.Number => first.GetRawText(),
            JsonValueKind.Null => null,
            _ => first.GetString(),
        };
    }

    public static List<string?> Values(JsonElement array, string tag) => [.. array.EnumerateArray().Select(o => Value(o, tag))];

    public static MediaTypeWithQualityHeaderValue Accept(string text) => MediaTypeWithQualityHeaderValue.Parse(text);
}
