using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Service.Tests;

/// <summary>Hand-made STOW-RS bodies and readers of the answer (PS3.18 §10.5, Annex I in DICOM JSON).</summary>
public static class StowSupport
{
    public const string Boundary = "qc-stow-boundary-7d1f";
    public const string ContentType = $"multipart/related; type=\"application/dicom\"; boundary={Boundary}";

    public sealed record Part(byte[] Bytes, string? ContentType = "application/dicom");

    /// <summary>RFC 2046 §5.1: CRLF "--" boundary before each part (the first without the CRLF), headers, blank line,
    /// bytes; "--" boundary "--" to close. <paramref name="close"/> false leaves the closing delimiter out.</summary>
    public static byte[] BodyOfParts(IEnumerable<Part> parts, string boundary = Boundary, bool close = true)
    {
        using var ms = new MemoryStream();
        bool first = true;
        foreach (var p in parts)
        {
            var head = new StringBuilder();
            head.Append(first ? "" : "\r\n").Append("--").Append(boundary).Append("\r\n");
            if (p.ContentType is not null) head.Append("Content-Type: ").Append(p.ContentType).Append("\r\n");
            head.Append("\r\n");
            ms.Write(Encoding.ASCII.GetBytes(head.ToString()));
            ms.Write(p.Bytes);
            first = false;
        }
        if (close) ms.Write(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"));
        return ms.ToArray();
    }

    public static byte[] Body(params byte[][] files) => BodyOfParts(files.Select(f => new Part(f)));

    public static HttpRequestMessage Request(string path, byte[] body, string contentType = ContentType, bool chunked = false, string? accept = null)
    {
        HttpContent content = chunked ? new StreamContent(new NoLengthStream(body)) : new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var rq = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (chunked) rq.Headers.TransferEncodingChunked = true;
        if (accept is not null) rq.Headers.Accept.ParseAdd(accept);
        return rq;
    }

    public sealed record Answer(int Status, string? MediaType, string Text, string? Warning)
    {
        public JsonElement Json => JsonDocument.Parse(Text).RootElement;

        /// <summary>(SOP Class UID, SOP Instance UID, Retrieve URL, Warning Reason) per ReferencedSOPSequence item.</summary>
        public List<(string Class, string Sop, string Url, int? Warning)> Stored => Items("00081199")
            .Select(i => (Str(i, "00081150"), Str(i, "00081155"), Str(i, "00081190"), Num(i, "00081196"))).ToList();

        /// <summary>(SOP Class UID, SOP Instance UID, Failure Reason) per FailedSOPSequence item ("" when the UID is unknown).</summary>
        public List<(string Class, string Sop, int Reason)> Failed => Items("00081198")
            .Select(i => (Str(i, "00081150"), Str(i, "00081155"), Num(i, "00081197") ?? -1)).ToList();

        public string StudyUrl => Str(Json, "00081190");

        private List<JsonElement> Items(string tag) =>
            Json.TryGetProperty(tag, out var sq) && sq.TryGetProperty("Value", out var v) ? [.. v.EnumerateArray()] : [];
    }

    private static string Str(JsonElement o, string tag) =>
        o.TryGetProperty(tag, out var a) && a.TryGetProperty("Value", out var v) ? v[0].GetString() ?? "" : "";

    private static int? Num(JsonElement o, string tag) =>
        o.TryGetProperty(tag, out var a) && a.TryGetProperty("Value", out var v) ? v[0].GetInt32() : null;

    public static async Task<Answer> SendAsync(HttpClient http, HttpRequestMessage rq)
    {
        using (rq)
        {
            using var rsp = await http.SendAsync(rq);
            var text = await rsp.Content.ReadAsStringAsync();
            rsp.Headers.TryGetValues("Warning", out var warnings);
            return new Answer((int)rsp.StatusCode, rsp.Content.Headers.ContentType?.MediaType, text, warnings?.FirstOrDefault());
        }
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class NoLengthStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }

    /// <summary>The files of the service's instance store and temp folder.</summary>
    public static string[] StoredFiles(string dataPath) =>
        Directory.Exists(Path.Combine(dataPath, "instances")) ? Directory.GetFiles(Path.Combine(dataPath, "instances"), "*", SearchOption.AllDirectories) : [];

    public static string[] TempFiles(string dataPath) =>
        Directory.Exists(Path.Combine(dataPath, "tmp")) ? Directory.GetFiles(Path.Combine(dataPath, "tmp")) : [];

    /// <summary>UIDs of a Part 10 file.</summary>
    public static (string Class, string Sop, string Study, string Series) Uids(string path)
    {
        using var f = DicomFile.Open(path, DicomReadOptions.HeaderOnly);
        var ds = f.Dataset;
        static string T(string? s) => (s ?? "").TrimEnd('\0', ' ');
        return (T(ds.GetString(DicomTags.SOPClassUID)), T(ds.GetString(DicomTags.SOPInstanceUID)), T(ds.GetString(DicomTags.StudyInstanceUID)), T(ds.GetString(DicomTags.SeriesInstanceUID)));
    }

    public static MediaTypeHeaderValue DicomType => new("application/dicom");
}
