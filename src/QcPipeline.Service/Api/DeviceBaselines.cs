using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Analysis;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Api;

/// <summary>A baseline taken from a chosen result (<c>POST /api/devices/{id}/baselines</c>).</summary>
public sealed record BaselineRequest(long ResultId, IReadOnlyList<string>? Metrics, string Reason);

/// <summary>One metric's baseline: the value of the chosen result and the limit it gives (value ± tolerance).</summary>
public sealed record BaselineView(string Metric, double Value, double Tolerance, double LimitMin, double LimitMax);

/// <summary>The answer to a baseline request: the new limits version in force for the device.</summary>
public sealed record BaselineSet(long DeviceId, long ResultId, string Test, LimitSetRef LimitSet, IReadOnlyList<BaselineView> Baselines, JsonElement Limits);

/// <summary>One version of a device's limits override, from the audit log: who set it, when, why; null <c>LimitSet</c> and
/// <c>Limits</c> when the override was cleared (the defaults apply again).</summary>
public sealed record LimitsVersionView(long AuditId, DateTimeOffset At, string Actor, string Action, string? Reason, long? ResultId,
    LimitSetRef? LimitSet, JsonElement? Limits);

/// <summary>Every limits version of a device, newest first, and the set its next analysis uses.</summary>
public sealed record LimitsHistory(long DeviceId, LimitSetRef InForce, IReadOnlyList<LimitsVersionView> Versions);

/// <summary>Baselines set from a chosen result (issue 8, "Limits and baselines"; STANDARDS.md §2 DR dark noise ±50 % and §3
/// MR SNR ±10 % of the device's baseline): the result's values of the baseline metrics (<see cref="BaselineLimits"/>)
/// become limits around them in a new version of the device's limit-set override, so the device's next analyses are judged
/// against them (the analyses look up these metric names in the limit set when no baseline is passed in). The new version
/// and its audit row (<c>device.baseline</c>: who, when, why, which result, old and new limits) are one transaction, and
/// the limits history is read back from the audit rows of both this and <c>PATCH /api/devices/{id}</c>.</summary>
public sealed class DeviceBaselines(IDbContextFactory<ResultsDbContext> factory, TimeProvider time)
{
    public const int MaxBodyBytes = 16 * 1024;
    private const string UpdateAction = "device.update", BaselineAction = "device.baseline";

    /// <summary>Reads and checks a request body; throws <see cref="ApiProblemException"/> with the reason.</summary>
    internal static BaselineRequest Parse(JsonDocument body)
    {
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ApiProblemException("the body must be a JSON object");
        long? resultId = null;
        List<string>? metrics = null;
        string? reason = null;
        foreach (var p in root.EnumerateObject())
        {
            switch (p.Name.ToLowerInvariant())
            {
                case "resultid":
                    resultId = p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt64(out var id) && id > 0
                        ? id : throw new ApiProblemException("resultId must be a positive integer");
                    break;
                case "metrics":
                    if (p.Value.ValueKind == JsonValueKind.Null) break;
                    if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() is 0 or > 32
                        || p.Value.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String))
                        throw new ApiProblemException("metrics must be a non-empty array of metric names (at most 32)");
                    metrics = p.Value.EnumerateArray().Select(m => m.GetString()!).Distinct(StringComparer.Ordinal).ToList();
                    var unknown = metrics.FirstOrDefault(m => !BaselineLimits.Tolerances.ContainsKey(m));
                    if (unknown is not null)
                        throw new ApiProblemException($"'{Truncate(unknown, 64)}' is not judged against a baseline; baseline metrics: {AllowedMetrics}");
                    break;
                case "reason":
                    reason = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()!.Trim() : throw new ApiProblemException("reason must be a string");
                    if (reason.Length > 500) throw new ApiProblemException("reason is longer than 500 characters");
                    if (reason.Any(char.IsControl)) throw new ApiProblemException("reason contains control characters");
                    break;
                default: throw new ApiProblemException($"unknown field '{Truncate(p.Name, 64)}' (resultId, metrics, reason)");
            }
        }
        if (resultId is null) throw new ApiProblemException("resultId is required: the result whose values become the baselines");
        if (string.IsNullOrEmpty(reason)) throw new ApiProblemException("reason is required: why this result is the baseline (it is kept in the audit log)");
        return new BaselineRequest(resultId.Value, metrics, reason);
    }

    private static string AllowedMetrics => string.Join(", ", BaselineLimits.Tolerances.Keys);

    /// <summary>Sets the baselines; null when the device is unknown. Throws <see cref="ApiProblemException"/> (404 for an
    /// unknown result, 400 for a result that cannot give the baselines asked for).</summary>
    internal async Task<BaselineSet?> SetAsync(long deviceId, BaselineRequest request, string actor, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.FirstOrDefaultAsync(d => d.Id == deviceId, ct).ConfigureAwait(false);
            if (device is null) return null;
            var result = await db.Results.AsNoTracking().Include(r => r.Metrics).FirstOrDefaultAsync(r => r.Id == request.ResultId, ct).ConfigureAwait(false)
                ?? throw new ApiProblemException("no such result", StatusCodes.Status404NotFound);
            if (result.DeviceId != deviceId)
                throw new ApiProblemException($"result {result.Id} is of device {result.DeviceId}, not of device {deviceId}");

            var offered = result.Metrics.Where(m => BaselineLimits.Tolerances.ContainsKey(m.Name)).ToList();
            if (offered.Count == 0)
                throw new ApiProblemException($"result {result.Id} ({result.Profile}) has no metric judged against a baseline; baseline metrics: {AllowedMetrics}");
            var chosen = new List<BaselineView>();
            foreach (var name in request.Metrics ?? offered.Select(m => m.Name).Distinct(StringComparer.Ordinal).ToList())
            {
                var m = offered.FirstOrDefault(x => x.Name == name)
                    ?? throw new ApiProblemException($"result {result.Id} ({result.Profile}) has no {name}");
                if (m.Value is not { } v || !double.IsFinite(v))
                    throw new ApiProblemException($"result {result.Id} has no value of {name} (it was not measured)");
                // ±x % of 0 is the single value 0: no usable limit (DrDark warns the same), so a specified value must be entered instead.
                if (v == 0) throw new ApiProblemException($"{name} is 0 in result {result.Id}: a relative limit around 0 admits only 0; set an absolute limit instead");
                double tolerance = BaselineLimits.Tolerances[name];
                var limit = LimitSet.AroundBaseline(v, tolerance);
                chosen.Add(new BaselineView(name, v, tolerance, limit.Min!.Value, limit.Max!.Value));
            }

            // The new version: the override in force with these limits added (or replaced), under its id with the next version;
            // a device without a usable override gets its own set. A version number is never reused for a different content:
            // results and the audit log name sets by id and version.
            var old = device.LimitsJson;
            var current = Usable(old);
            var set = current is not null ? JsonNode.Parse(old!) as JsonObject : null;
            string setId = current?.Id ?? $"device-{device.Id}";
            set ??= new JsonObject { ["id"] = setId, ["kind"] = "constancy" };
            int usedByResults = await db.Results.Where(r => r.DeviceId == deviceId && r.LimitSetId == setId)
                .MaxAsync(r => (int?)r.LimitSetVersion, ct).ConfigureAwait(false) ?? 0;
            var history = await VersionsAsync(db, device.Key, ct).ConfigureAwait(false);
            int usedInHistory = history.Where(h => h.LimitSet?.Id == setId).Select(h => h.LimitSet!.Version).DefaultIfEmpty(0).Max();
            int version = Math.Max(Math.Max(current?.Version ?? 0, usedByResults), usedInHistory) + 1;
            set["version"] = version;
            if (set["limits"] is not JsonObject limits) set["limits"] = limits = new JsonObject();
            if (set["baselines"] is not JsonObject baselines) set["baselines"] = baselines = new JsonObject();
            var now = time.GetUtcNow();
            foreach (var b in chosen)
            {
                limits[b.Metric] = new JsonObject { ["min"] = b.LimitMin, ["max"] = b.LimitMax };
                // Kept beside the limit so the value and tolerance it came from stay readable (LimitSet.Load ignores this member).
                baselines[b.Metric] = new JsonObject
                {
                    ["value"] = b.Value, ["tolerance"] = b.Tolerance, ["resultId"] = result.Id, ["test"] = result.Profile,
                    ["setAt"] = now.ToString("O", CultureInfo.InvariantCulture),
                };
            }
            var text = set.ToJsonString();
            LimitSet.Load(text, LimitSet.Default); // must load as the worker loads it (it does: it is built from a loaded set)
            device.LimitsJson = text;
            var detail = new JsonObject
            {
                ["resultId"] = result.Id,
                ["test"] = result.Profile,
                ["reason"] = request.Reason,
                ["baselines"] = new JsonArray(chosen.Select(b => (JsonNode)new JsonObject
                {
                    ["metric"] = b.Metric, ["value"] = b.Value, ["tolerance"] = b.Tolerance, ["min"] = b.LimitMin, ["max"] = b.LimitMax,
                }).ToArray()),
                ["changes"] = new JsonObject { ["limits"] = new JsonObject { ["old"] = old is null ? null : JsonNode.Parse(old), ["new"] = JsonNode.Parse(text) } },
            };
            db.Audit.Add(new AuditRecord
            {
                At = now, Actor = Truncate(actor, 128), Action = BaselineAction, Entity = "device", EntityKey = device.Key, Detail = detail.ToJsonString(),
            });
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            return new BaselineSet(device.Id, result.Id, result.Profile, new LimitSetRef(setId, version), chosen, JsonDocument.Parse(text).RootElement.Clone());
        }
    }

    /// <summary>Every limits version of the device, newest first; null when the device is unknown.</summary>
    internal async Task<LimitsHistory?> HistoryAsync(long deviceId, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.AsNoTracking().FirstOrDefaultAsync(d => d.Id == deviceId, ct).ConfigureAwait(false);
            if (device is null) return null;
            var versions = await VersionsAsync(db, device.Key, ct).ConfigureAwait(false);
            versions.Reverse();
            var inForce = Usable(device.LimitsJson) ?? LimitSet.Default;
            return new LimitsHistory(device.Id, new LimitSetRef(inForce.Id, inForce.Version), versions);
        }
    }

    /// <summary>The limits versions in the device's audit rows (edits that changed the limits, baselines), oldest first.</summary>
    private static async Task<List<LimitsVersionView>> VersionsAsync(ResultsDbContext db, string deviceKey, CancellationToken ct)
    {
        var rows = await db.Audit.AsNoTracking()
            .Where(a => a.Entity == "device" && a.EntityKey == deviceKey && (a.Action == UpdateAction || a.Action == BaselineAction))
            .OrderBy(a => a.At).ThenBy(a => a.Id).ToListAsync(ct).ConfigureAwait(false);
        var list = new List<LimitsVersionView>();
        foreach (var a in rows)
        {
            if (a.Detail is null) continue;
            using var doc = JsonDocument.Parse(a.Detail);
            var d = doc.RootElement;
            if (!d.TryGetProperty("changes", out var changes) || !changes.TryGetProperty("limits", out var limits)) continue;
            var @new = limits.TryGetProperty("new", out var n) && n.ValueKind == JsonValueKind.Object ? n.Clone() : (JsonElement?)null;
            LimitSetRef? set = @new is { } j && Usable(j.GetRawText()) is { } s ? new LimitSetRef(s.Id, s.Version) : null;
            list.Add(new LimitsVersionView(a.Id, a.At, a.Actor, a.Action,
                d.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null,
                d.TryGetProperty("resultId", out var rid) && rid.ValueKind == JsonValueKind.Number && rid.TryGetInt64(out var v) ? v : null, set, @new));
        }
        return list;
    }

    private static LimitSet? Usable(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return null;
        try { return LimitSet.Load(json, LimitSet.Default); }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException or ArgumentException or InvalidOperationException) { return null; }
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];
}
