using System.Buffers;
using System.Diagnostics;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using QcPipeline.Dicom.Network;
using QcPipeline.Service.Ingest;
using QcPipeline.Service.Metrics;

namespace QcPipeline.Service.DicomWeb;

/// <summary>One STOW-RS request (PS3.18 §10.5): the multipart/related body is read as a stream with ASP.NET's
/// <see cref="MultipartReader"/>; each part streams into the ingest path (<see cref="IngestService"/>: temp file), and its
/// completion (checks, fsync, rename, index commit) runs while the next parts are read, up to <see cref="CompletionWindow"/>
/// at once. Neither the body nor a part is ever held in memory, and an instance is listed as stored only after its
/// <see cref="IncomingInstance.CompleteAsync"/> said so; the answer is written after every completion has ended.</summary>
/// <remarks>MultipartReader meets the requirements: it streams each section, bounds the header block
/// (<c>HeadersLengthLimit</c>, which also bounds the preamble before the first boundary) and the header count, and reports
/// a body that ends before the closing delimiter as an <see cref="IOException"/>. The per-part limit is counted here, not
/// with its <c>BodyLengthLimit</c>, so that an over-limit part becomes a failure entry rather than an exception that ends
/// the request.</remarks>
public sealed partial class StowHandler(IngestService ingest, IOptions<DicomWebOptions> options, IOptions<DicomOptions> dicom,
    QcMetrics metrics, ILogger<StowHandler> logger)
{
    private const int CopyBufferBytes = 64 * 1024;
    internal const int MaxBoundaryLength = 200;
    private readonly DicomWebOptions _options = options.Value;
    // The transfer syntaxes the DIMSE listener accepts: both doors take the same encodings.
    private readonly IReadOnlyCollection<string> _transferSyntaxes = dicom.Value.EffectiveTransferSyntaxes.ToHashSet(StringComparer.Ordinal);

    /// <summary>A reason to answer the whole request with an error status; the text goes to the client and the log
    /// (so it never holds a value from the data).</summary>
    private sealed class RequestFailedException(int status, string message) : Exception(message)
    {
        public int Status { get; } = status;
    }

    public async Task HandleAsync(HttpContext context, string? pathStudy)
    {
        long started = Stopwatch.GetTimestamp();
        int? code = null;
        var stats = new Stats();
        try
        {
            code = await ProcessAsync(context, pathStudy, stats).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && ex is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // The client went away: nothing can be answered. A part in progress was abandoned (never visible).
            LogAborted(stats.Stored, stats.Failed);
        }
        finally
        {
            metrics.StowRequestsTotal.WithLabels(QcMetrics.StowCodeLabel(code)).Inc();
            metrics.StowRequestDuration.WithLabels(QcMetrics.StowStatusClassLabel(code)).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
        if (code is { } c)
            LogAnswered(c, stats.Stored, stats.Failed, stats.Bytes, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.User.Identity?.Name ?? "anonymous");
    }

    private sealed class Stats
    {
        public int Stored;
        public int Failed;
        public long Bytes;
    }

    private async Task<int> ProcessAsync(HttpContext context, string? pathStudy, Stats stats)
    {
        var request = context.Request;
        var ct = context.RequestAborted;

        if (pathStudy is not null && !UidRules.IsValid(pathStudy))
            return await PlainErrorAsync(context, StatusCodes.Status400BadRequest, "the Study Instance UID in the path is not a valid UID").ConfigureAwait(false);
        if (NegotiateResponse(request) is not { } xml)
            return await PlainErrorAsync(context, StatusCodes.Status406NotAcceptable, "the response can be application/dicom+json or application/dicom+xml").ConfigureAwait(false);
        if (CheckContentType(request, out var boundary) is { } mediaTypeProblem)
            return await PlainErrorAsync(context, mediaTypeProblem.Status, mediaTypeProblem.Message).ConfigureAwait(false);

        // A Content-Length over Kestrel's limit (Http:MaxRequestBodyBytes) is refused before a byte is read or stored.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is { } maxBody && request.ContentLength > maxBody)
            return await PlainErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "request body larger than the limit (Http:MaxRequestBodyBytes)").ConfigureAwait(false);

        var response = new StowResponse(_options.PublicBase(request), pathStudy);
        // 64 KiB read buffer (the default is 4 KiB): each part is read in chunks of the buffer size, and a 0.5 MB instance in
        // 4 KiB chunks costs ~130 trips through the boundary scan, the file write and the hash.
        var reader = new MultipartReader(boundary, request.Body, 64 * 1024)
        {
            HeadersLengthLimit = _options.MaxPartHeaderBytes,
            HeadersCountLimit = 32,
        };
        // Completions (fsync, rename, index commit) of up to CompletionWindow parts run while the next parts are read: the
        // disk work of one instance overlaps the transfer of the next, and concurrent commits share the index writer's group
        // commit. Each instance is still durable and indexed before it is counted stored, and the answer is written only
        // after every completion has ended (DrainCompletionsAsync), so nothing is reported before it is durable.
        var pending = new Queue<Task<IngestResult>>();
        try
        {
            try
            {
                while (true)
                {
                    var section = await reader.ReadNextSectionAsync(ct).ConfigureAwait(false);
                    if (section is null) break;
                    if (response.Parts + pending.Count >= _options.MaxParts)
                        throw new RequestFailedException(StatusCodes.Status413PayloadTooLarge, $"more than {_options.MaxParts} parts (DicomWeb:MaxParts)");
                    pending.Enqueue(await ProcessPartAsync(context, section, pathStudy, stats, ct).ConfigureAwait(false));
                    while (pending.Count >= CompletionWindow) Record(response, stats, await pending.Dequeue().ConfigureAwait(false));
                }
            }
            finally
            {
                // Also when the request failed or the client went away: what is in flight ends, and is reported if possible.
                while (pending.Count > 0) Record(response, stats, await pending.Dequeue().ConfigureAwait(false));
            }
        }
        catch (Exception ex) when (RequestLevel(ex, ct) is { } failure)
        {
            // The body is unusable from here on. What was stored before stays stored, and the answer says so.
            LogRequestFailed(failure.Status, failure.Message, response.Stored);
            logger.LogDebug(ex, "STOW-RS request failure detail");
            if (response.Parts == 0) return await PlainErrorAsync(context, failure.Status, failure.Message).ConfigureAwait(false);
            return await WriteResponseAsync(context, failure.Status, response, xml, failure.Message).ConfigureAwait(false);
        }
        if (response.Parts == 0)
            return await PlainErrorAsync(context, StatusCodes.Status400BadRequest, "the multipart body has no parts").ConfigureAwait(false);
        return await WriteResponseAsync(context, response.StatusCode, response, xml, null).ConfigureAwait(false);
    }

    /// <summary>Exceptions that end the request with an error status (a client gone away is not one: no answer is possible).</summary>
    private static RequestFailedException? RequestLevel(Exception ex, CancellationToken aborted)
    {
        if (aborted.IsCancellationRequested) return null;
        return ex switch
        {
            RequestFailedException r => r,
            // Kestrel: the body is over Http:MaxRequestBodyBytes (413), or it ended before its Content-Length / last chunk.
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                new RequestFailedException(StatusCodes.Status413PayloadTooLarge, "request body larger than the limit (Http:MaxRequestBodyBytes)"),
            BadHttpRequestException => new RequestFailedException(StatusCodes.Status400BadRequest, "request body incomplete or malformed"),
            // MultipartReader: header block or preamble over the limit, too many headers, a malformed header line.
            InvalidDataException => new RequestFailedException(StatusCodes.Status400BadRequest, "malformed multipart body: part headers too long or invalid, or no boundary where one was expected"),
            // MultipartReader: the body ended before the closing boundary (truncated, or a wrong boundary).
            IOException => new RequestFailedException(StatusCodes.Status400BadRequest, "multipart body ended before its closing boundary (truncated, or the boundary does not match)"),
            _ => null,
        };
    }

    /// <summary>Parts whose completion may be in flight at once within one request.</summary>
    private const int CompletionWindow = 4;

    /// <summary>Reads one part into the ingest path. Returns its completion (which owns and disposes the instance), or the
    /// part's failure as a completed task (the answer is filled only by Record, in part order): the answer lists the parts in the order they came (an entry without UIDs can only
    /// be matched to its part by its position).</summary>
    private async Task<Task<IngestResult>> ProcessPartAsync(HttpContext context, MultipartSection section, string? pathStudy, Stats stats, CancellationToken ct)
    {
        string declaredSyntax = "";
        if (section.ContentType is { } partType)
        {
            // A part's type must be application/dicom (PS3.18 §10.5.1.4, one PS3.10 instance per part); without a
            // Content-Type the part is taken as the type the multipart/related "type" parameter declares (RFC 2387),
            // which we required to be application/dicom.
            if (!MediaTypeHeaderValue.TryParse(partType, out var mt) || !mt.MediaType.Equals("application/dicom", StringComparison.OrdinalIgnoreCase))
            {
                await DrainAsync(section.Body, stats, ct).ConfigureAwait(false);
                return Rejected(DicomStatus.CannotUnderstand, "a part is not application/dicom");
            }
            if (mt.Parameters.FirstOrDefault(p => p.Name.Equals("transfer-syntax", StringComparison.OrdinalIgnoreCase)) is { } tsParameter)
                declaredSyntax = HeaderUtilities.RemoveQuotes(tsParameter.Value).ToString();
        }

        var ingestRequest = new IngestRequest(IngestSource.Stow, CallingAe: null, ExpectedSopClassUid: null, ExpectedSopInstanceUid: null,
            TransferSyntaxUid: declaredSyntax, InputIsPart10: true)
        {
            Client = context.User.Identity?.Name,
            ExpectedStudyInstanceUid = pathStudy,
            AcceptedTransferSyntaxes = _transferSyntaxes,
        };
        IncomingInstance instance;
        try
        {
            instance = await ingest.BeginAsync(ingestRequest, ct).ConfigureAwait(false);
        }
        catch (IngestFailedException ex)
        {
            await DrainAsync(section.Body, stats, ct).ConfigureAwait(false);
            return Rejected(ex.Result.DicomStatus, ex.Result.Reason);
        }

        bool handedOff = false;
        try
        {
            byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
            try
            {
                long received = 0;
                while (true)
                {
                    int n = await section.Body.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), ct).ConfigureAwait(false);
                    if (n == 0) break;
                    received += n;
                    stats.Bytes += n;
                    metrics.StowReceivedBytesTotal.Inc(n);
                    if (received > _options.MaxPartBytes)
                    {
                        // Disposing abandons the temp file; the rest of the part is read and dropped so the next part can follow.
                        await instance.DisposeAsync().ConfigureAwait(false);
                        await DrainAsync(section.Body, stats, ct).ConfigureAwait(false);
                        return Rejected(DicomStatus.OutOfResources, "part larger than DicomWeb:MaxPartBytes");
                    }
                    try
                    {
                        await instance.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    }
                    catch (IngestFailedException ex)
                    {
                        await DrainAsync(section.Body, stats, ct).ConfigureAwait(false);
                        return Rejected(ex.Result.DicomStatus, ex.Result.Reason);
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            // The part ended at its boundary: all its bytes are here. Completing does not depend on the client any more.
            // On the thread pool: its header parse and checks must not hold up reading the next part (the fsync itself waits
            // on IngestService.SyncThreads).
            handedOff = true;
            return Task.Run(() => CompleteAsync(instance), CancellationToken.None);
        }
        finally
        {
            if (!handedOff) await instance.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static Task<IngestResult> Rejected(ushort status, string? reason) =>
        Task.FromResult(IngestResult.Rejected(status, reason ?? "", IngestFailure.Other));

    private static async Task<IngestResult> CompleteAsync(IncomingInstance instance)
    {
        try
        {
            return await instance.CompleteAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            await instance.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Puts a completed part into the answer (on the request's own flow: the answer is never shared between threads).</summary>
    private void Record(StowResponse response, Stats stats, IngestResult result)
    {
        if (result.IsSuccess)
        {
            response.AddStored(result.SopClassUid!, result.SopInstanceUid!, result.StudyInstanceUid!, result.SeriesInstanceUid!, StowResponse.WarningOf(result.DicomStatus));
            stats.Stored++;
            metrics.StowInstancesTotal.WithLabels("stored").Inc();
        }
        else
        {
            Fail(response, stats, result.SopClassUid, result.SopInstanceUid, result.DicomStatus, result.Reason);
        }
    }

    private void Fail(StowResponse response, Stats stats, string? sopClass, string? sopInstance, ushort status, string? reason)
    {
        response.AddFailed(sopClass, sopInstance, status);
        stats.Failed++;
        metrics.StowInstancesTotal.WithLabels("failed").Inc();
        LogPartFailed(status, reason ?? "");
    }

    private async Task DrainAsync(Stream body, Stats stats, CancellationToken ct)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            int n;
            while ((n = await body.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), ct).ConfigureAwait(false)) > 0)
            {
                stats.Bytes += n;
                metrics.StowReceivedBytesTotal.Inc(n);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>PS3.18 §10.5.1: the body is <c>multipart/related; type="application/dicom"; boundary=...</c>.
    /// Another media type, or another (or no) root type, is 415; a missing or invalid boundary is 400.</summary>
    private static RequestFailedException? CheckContentType(HttpRequest request, out string boundary)
    {
        boundary = "";
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mt) || !mt.MediaType.Equals("multipart/related", StringComparison.OrdinalIgnoreCase))
            return new RequestFailedException(StatusCodes.Status415UnsupportedMediaType, "the request body must be multipart/related; type=\"application/dicom\"");
        var type = mt.Parameters.FirstOrDefault(p => p.Name.Equals("type", StringComparison.OrdinalIgnoreCase));
        var typeValue = type is null ? "" : HeaderUtilities.RemoveQuotes(type.Value).ToString();
        if (!typeValue.Equals("application/dicom", StringComparison.OrdinalIgnoreCase))
        {
            return new RequestFailedException(StatusCodes.Status415UnsupportedMediaType, typeValue.Length == 0
                ? "the multipart/related type parameter is missing; it must be \"application/dicom\""
                : "only type=\"application/dicom\" parts are accepted (metadata with bulk data, application/dicom+json or +xml, is not supported)");
        }
        boundary = HeaderUtilities.RemoveQuotes(mt.Boundary).ToString();
        // RFC 2046 §5.1.1 allows 1 to 70 characters, but Orthanc 1.10's STOW-RS client sends 73 (two GUIDs): up to
        // MaxBoundaryLength is accepted, which still keeps the delimiter search cheap.
        if (boundary.Length is 0 or > MaxBoundaryLength || boundary.EndsWith(' '))
            return new RequestFailedException(StatusCodes.Status400BadRequest, $"the multipart boundary parameter is missing or invalid (1-{MaxBoundaryLength} characters)");
        return null;
    }

    /// <summary>application/dicom+json unless the Accept header prefers application/dicom+xml (PS3.18 §10.5.3: the response is DICOM JSON or Native DICOM Model XML);
    /// true for XML, false for JSON, null when Accept allows neither (406).</summary>
    internal static bool? NegotiateResponse(HttpRequest request)
    {
        var accept = request.GetTypedHeaders().Accept;
        if (accept is null || accept.Count == 0) return false;
        bool? best = null;
        (double Quality, int Specific) bestRank = (0, -1);
        foreach (var a in accept)
        {
            double q = a.Quality ?? 1;
            if (q <= 0) continue;
            (bool? candidate, int specific) = a.MediaType.Value?.ToLowerInvariant() switch
            {
                "application/dicom+xml" => (true, 1),
                "application/dicom+json" or "application/json" => (false, 1),
                "application/*" or "*/*" => ((bool?)false, 0),
                _ => (null, 0),
            };
            if (candidate is null) continue;
            // Highest quality wins; at equal quality a named type beats a wildcard (RFC 9110 content negotiation), then the first listed.
            if (best is null || q > bestRank.Quality || (q == bestRank.Quality && specific > bestRank.Specific))
            {
                best = candidate;
                bestRank = (q, specific);
            }
        }
        return best;
    }


    private static async Task<int> WriteResponseAsync(HttpContext context, int status, StowResponse response, bool xml, string? problem)
    {
        var body = response.Serialize(xml);
        context.Response.StatusCode = status;
        context.Response.ContentType = xml ? "application/dicom+xml" : "application/dicom+json";
        context.Response.ContentLength = body.Length;
        if (problem is not null) context.Response.Headers.Append(HeaderNames.Warning, WarningHeader(problem));
        await context.Response.Body.WriteAsync(body).ConfigureAwait(false);
        return status;
    }

    private static async Task<int> PlainErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.Append(HeaderNames.Warning, WarningHeader(message));
        await context.Response.WriteAsync(message + "\n").ConfigureAwait(false);
        return status;
    }

    /// <summary>The Warning header (code 299, as DICOMweb services use it) explains an error; our texts are ASCII.</summary>
    private static string WarningHeader(string message) => $"299 - \"{message.Replace('"', '\'')}\"";

    [LoggerMessage(Level = LogLevel.Information, Message = "STOW-RS answered {Status}: {Stored} instances stored, {Failed} failed, {Bytes} bytes in {ElapsedMs:F0} ms (client {Client})")]
    private partial void LogAnswered(int status, int stored, int failed, long bytes, double elapsedMs, string? client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "STOW-RS request ended by the client after {Stored} instances stored, {Failed} failed; the part in progress was abandoned")]
    private partial void LogAborted(int stored, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "STOW-RS request refused with {Status}: {Problem} ({Stored} instances stored before)")]
    private partial void LogRequestFailed(int status, string problem, int stored);

    [LoggerMessage(Level = LogLevel.Information, Message = "STOW-RS part failed with 0x{Status:X4}: {Reason}")]
    private partial void LogPartFailed(ushort status, string reason);
}
