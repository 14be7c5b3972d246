using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using QcPipeline.Analysis;
using QcPipeline.Service.ResultsStore;

namespace QcPipeline.Service.Api;

/// <summary>Device edits (<c>PATCH /api/devices/{id}</c>): display name, site, modality and the limit-set override. The
/// change and its audit row (who, when, old and new values, reason) are one transaction, so every limits version that was
/// ever in force stays in the audit log.</summary>
public sealed partial class DeviceEditor(IDbContextFactory<ResultsDbContext> factory, TimeProvider time)
{
    public const int MaxBodyBytes = 256 * 1024;
    private const int MaxText = 200;

    /// <summary>The fields of a patch that are present (a null value clears the field).</summary>
    internal sealed record Edit(bool HasDisplayName, string? DisplayName, bool HasSite, string? Site, bool HasModality, string? Modality,
        bool HasLimits, JsonElement? Limits, string? Reason);

    /// <summary>Reads and checks a patch body; throws <see cref="ApiProblemException"/> with the reason when it is not acceptable.</summary>
    internal static Edit ParsePatch(JsonDocument body)
    {
        var root = body.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new ApiProblemException("the body must be a JSON object");
        bool hasName = false, hasSite = false, hasModality = false, hasLimits = false;
        string? name = null, site = null, modality = null, reason = null;
        JsonElement? limits = null;
        foreach (var p in root.EnumerateObject())
        {
            switch (p.Name.ToLowerInvariant())
            {
                case "displayname": hasName = true; name = Text(p, MaxText); break;
                case "site": hasSite = true; site = Text(p, MaxText); break;
                case "modality":
                    hasModality = true;
                    modality = Text(p, 16)?.ToUpperInvariant();
                    if (modality is not null && !ModalityPattern().IsMatch(modality))
                        throw new ApiProblemException("modality must be a DICOM modality code: 1-16 letters, digits or underscores (CT, DX, MR)");
                    break;
                case "limits":
                    hasLimits = true;
                    if (p.Value.ValueKind == JsonValueKind.Null) limits = null;
                    else if (p.Value.ValueKind != JsonValueKind.Object) throw new ApiProblemException("limits must be a limit set object or null");
                    else limits = p.Value.Clone();
                    break;
                case "reason": reason = Text(p, 500); break;
                default: throw new ApiProblemException($"unknown field '{Truncate(p.Name, 64)}' (displayName, site, modality, limits, reason)");
            }
        }
        if (!(hasName || hasSite || hasModality || hasLimits))
            throw new ApiProblemException("nothing to change: give displayName, site, modality and/or limits");
        return new Edit(hasName, name, hasSite, site, hasModality, modality, hasLimits, limits, reason);
    }

    /// <summary>Applies an edit; null when the device is unknown. Only what really changes is written and audited.</summary>
    internal async Task<(DeviceRecord Device, bool Changed)?> ApplyAsync(long id, Edit edit, string actor, CancellationToken ct)
    {
        var db = await factory.CreateDbContextAsync(ct).ConfigureAwait(false);
        await using (db.ConfigureAwait(false))
        {
            var device = await db.Devices.FirstOrDefaultAsync(d => d.Id == id, ct).ConfigureAwait(false);
            if (device is null) return null;
            var changes = new JsonObject();
            if (edit.HasDisplayName && device.DisplayName != edit.DisplayName)
            {
                changes["displayName"] = Change(device.DisplayName, edit.DisplayName);
                device.DisplayName = edit.DisplayName;
            }
            if (edit.HasSite && device.Site != edit.Site)
            {
                changes["site"] = Change(device.Site, edit.Site);
                device.Site = edit.Site;
            }
            if (edit.HasModality && device.Modality != edit.Modality)
            {
                changes["modality"] = Change(device.Modality, edit.Modality);
                device.Modality = edit.Modality;
            }
            if (edit.HasLimits)
            {
                string? text = edit.Limits is { } l ? JsonSerializer.Serialize(l) : null;
                if (text is not null) CheckLimits(text, device.LimitsJson);
                if (text != device.LimitsJson)
                {
                    changes["limits"] = new JsonObject { ["old"] = Node(device.LimitsJson), ["new"] = Node(text) };
                    device.LimitsJson = text;
                }
            }
            if (changes.Count == 0) return (device, false);
            var detail = new JsonObject { ["changes"] = changes };
            if (edit.Reason is not null) detail["reason"] = edit.Reason;
            db.Audit.Add(new AuditRecord
            {
                At = time.GetUtcNow(), Actor = Truncate(actor, 128), Action = "device.update", Entity = "device", EntityKey = device.Key,
                Detail = detail.ToJsonString(),
            });
            await db.SaveChangesAsync(ct).ConfigureAwait(false);
            return (device, true);
        }
    }

    /// <summary>A limit set must load as <c>qc analyze --limits</c> loads it, must not pass itself off as the defaults, and
    /// a new version of the same set must have a higher version number: results name the set by id and version, so two
    /// different contents under one name would make them ambiguous.</summary>
    private static void CheckLimits(string text, string? current)
    {
        LimitSet set;
        try
        {
            set = LimitSet.Load(text, LimitSet.Default);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new ApiProblemException($"limits: {ex.Message}");
        }
        if (string.Equals(set.Id, LimitSet.Default.Id, StringComparison.Ordinal))
            throw new ApiProblemException($"limits: the id '{LimitSet.Default.Id}' is the built-in default set; give the override its own id");
        if (set.Version < 1) throw new ApiProblemException("limits: version must be at least 1");
        if (current is null) return;
        LimitSet old;
        try { old = LimitSet.Load(current, LimitSet.Default); }
        catch (Exception ex) when (ex is JsonException or FormatException or NotSupportedException or ArgumentException or InvalidOperationException) { return; }
        if (string.Equals(old.Id, set.Id, StringComparison.Ordinal) && set.Version <= old.Version
            && !JsonNode.DeepEquals(JsonNode.Parse(current), JsonNode.Parse(text)))
            throw new ApiProblemException($"limits: '{set.Id}' version {old.Version} is in force; a changed set needs a higher version (or a new id)");
    }

    private static JsonObject Change(string? old, string? @new) => new() { ["old"] = old, ["new"] = @new };

    private static JsonNode? Node(string? json) => json is null ? null : JsonNode.Parse(json);

    private static string? Text(JsonProperty p, int max)
    {
        if (p.Value.ValueKind == JsonValueKind.Null) return null;
        if (p.Value.ValueKind != JsonValueKind.String) throw new ApiProblemException($"{p.Name} must be a string or null");
        var s = p.Value.GetString()!.Trim();
        if (s.Length == 0) return null;
        if (s.Length > max) throw new ApiProblemException($"{p.Name} is longer than {max} characters");
        if (s.Any(char.IsControl)) throw new ApiProblemException($"{p.Name} contains control characters");
        return s;
    }

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n];

    [GeneratedRegex("^[A-Z0-9_]{1,16}$")]
    private static partial Regex ModalityPattern();
}
