using System.Collections.Frozen;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace QcPipeline.Analysis.Labels;

/// <summary>A registry file that cannot be used; the message says where and why.</summary>
public sealed class HrRegistryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An exam item for which an institution holds mutual-recognition scopes. It matches an image whose Modality
/// equals <see cref="Modality"/> and whose Body Part Examined is in <see cref="BodyParts"/> or whose procedure code
/// (Procedure Code Sequence or Requested Procedure Code Sequence, Code Value) is in <see cref="ProcedureCodes"/>.
/// Both lists empty, or "*" in either, match every image of the modality.</summary>
public sealed record HrExamItem(string Modality, IReadOnlyList<string> BodyParts, IReadOnlyList<string> ProcedureCodes, IReadOnlyList<string> Scopes)
{
    public bool Matches(string modality, string? bodyPart, IReadOnlyCollection<string> procedureCodes)
    {
        if (!string.Equals(Modality, modality.Trim(), StringComparison.OrdinalIgnoreCase)) return false;
        if (BodyParts.Count == 0 && ProcedureCodes.Count == 0) return true;
        if (BodyParts.Contains("*") || ProcedureCodes.Contains("*")) return true;
        if (bodyPart is { Length: > 0 } && BodyParts.Any(b => string.Equals(Squash(b), Squash(bodyPart), StringComparison.OrdinalIgnoreCase))) return true;
        return procedureCodes.Any(c => ProcedureCodes.Contains(c, StringComparer.OrdinalIgnoreCase));
    }

    private static string Squash(string s) => s.Replace(" ", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal);
}

public sealed record HrInstitution(string Name, IReadOnlyList<string> Aliases, IReadOnlyList<HrExamItem> Items);

/// <summary>Which institutions hold which mutual-recognition scopes (DB11 §5.2.2) for which exam items, and how the
/// scopes rank. Immutable; built by <see cref="Parse"/> from YAML or JSON.</summary>
/// <remarks>
/// Format (YAML shown; JSON has the same shape and property names):
/// <code>
/// scopes: [JJJHR, BJHR, HR]          # largest first; also the list of known marks
/// institutions:
///   - name: 首都医科大学附属北京友谊医院
///     aliases: [北京友谊医院]
///     items:
///       - modality: CT
///         bodyParts: [HEAD, CHEST]   # Body Part Examined (0018,0015); "*" or omitted = any
///         procedureCodes: []          # Code Value in (0008,1032)/(0032,1064)
///         scopes: [JJJHR, BJHR]
/// </code>
/// Names are matched after removing spaces, folding full-width forms to ASCII and ignoring case.
/// </remarks>
public sealed class HrRegistry
{
    /// <summary>Scope order used when a registry gives none: Beijing–Tianjin–Hebei over Beijing over a generic HR.</summary>
    public static IReadOnlyList<string> DefaultScopeOrder { get; } = ["JJJHR", "BJHR", "HR"];

    private readonly FrozenDictionary<string, HrInstitution> _byName;

    public HrRegistry(IReadOnlyList<string> scopeOrder, IReadOnlyList<HrInstitution> institutions)
    {
        ScopeOrder = scopeOrder.Select(s => s.Trim().ToUpperInvariant()).ToArray();
        Institutions = institutions;
        var byName = new Dictionary<string, HrInstitution>(StringComparer.Ordinal);
        foreach (var inst in institutions)
        {
            foreach (var n in inst.Aliases.Prepend(inst.Name))
            {
                var key = HrMarkParser.NormalizeName(n);
                if (key.Length == 0) continue;
                if (byName.TryGetValue(key, out var other) && !ReferenceEquals(other, inst))
                    throw new HrRegistryException($"institution name or alias '{n}' is given for both '{other.Name}' and '{inst.Name}'");
                byName[key] = inst;
            }
        }
        _byName = byName.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>Known marks, largest scope first.</summary>
    public IReadOnlyList<string> ScopeOrder { get; }
    public IReadOnlyList<HrInstitution> Institutions { get; }

    public HrInstitution? Find(string institutionName) => _byName.GetValueOrDefault(HrMarkParser.NormalizeName(institutionName));

    /// <summary>Rank of a scope: 0 is the largest; unknown scopes rank after all known ones.</summary>
    public int RankOf(string scope)
    {
        for (int i = 0; i < ScopeOrder.Count; i++) if (string.Equals(ScopeOrder[i], scope, StringComparison.OrdinalIgnoreCase)) return i;
        return int.MaxValue;
    }

    /// <summary>The scopes the institution holds for the exam item, largest first.</summary>
    public IReadOnlyList<string> HeldScopes(HrInstitution institution, string modality, string? bodyPart, IReadOnlyCollection<string> procedureCodes) =>
        institution.Items.Where(i => i.Matches(modality, bodyPart, procedureCodes))
            .SelectMany(i => i.Scopes).Distinct(StringComparer.OrdinalIgnoreCase).OrderBy(RankOf).ToArray();

    // ------------------------------------------------------------------ loading

    /// <summary>Reads a registry file: JSON when the name ends in .json (or the text starts with '{'), else YAML.</summary>
    public static HrRegistry Load(string path)
    {
        string text = File.ReadAllText(path, Encoding.UTF8);
        return Parse(text, json: path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || text.TrimStart().StartsWith('{'));
    }

    public static HrRegistry Parse(string text, bool json)
    {
        RegistryDocument? doc;
        try
        {
            doc = json ? JsonSerializer.Deserialize<RegistryDocument>(text, JsonOptions) : YamlDeserializer.Deserialize<RegistryDocument>(text);
        }
        catch (JsonException ex) { throw new HrRegistryException($"registry is not valid JSON: {ex.Message}", ex); }
        catch (YamlException ex) { throw new HrRegistryException($"registry is not valid YAML: {ex.Message}", ex); }
        if (doc is null) throw new HrRegistryException("registry is empty");
        return Build(doc);
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly IDeserializer YamlDeserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();

    private static HrRegistry Build(RegistryDocument doc)
    {
        var order = doc.Scopes is { Count: > 0 } s ? s : [.. DefaultScopeOrder];
        var known = new HashSet<string>(order.Select(x => x.Trim().ToUpperInvariant()), StringComparer.Ordinal);
        foreach (var scope in known)
        {
            if (!HrMarkParser.LooksLikeMark(scope)) throw new HrRegistryException($"scope '{scope}' is not a mark of the form [A-Z]{{0,4}}HR");
        }
        var institutions = new List<HrInstitution>();
        foreach (var (inst, i) in (doc.Institutions ?? []).Select((x, i) => (x, i)))
        {
            if (string.IsNullOrWhiteSpace(inst.Name)) throw new HrRegistryException($"institutions[{i}] has no name");
            var items = new List<HrExamItem>();
            foreach (var (item, j) in (inst.Items ?? []).Select((x, j) => (x, j)))
            {
                if (string.IsNullOrWhiteSpace(item.Modality)) throw new HrRegistryException($"institutions[{i}] ({inst.Name}) items[{j}] has no modality");
                var scopes = (item.Scopes ?? []).Select(x => x.Trim().ToUpperInvariant()).ToArray();
                if (scopes.Length == 0) throw new HrRegistryException($"institutions[{i}] ({inst.Name}) items[{j}] has no scopes");
                foreach (var sc in scopes)
                {
                    if (!known.Contains(sc)) throw new HrRegistryException($"institutions[{i}] ({inst.Name}) items[{j}] names scope '{sc}', which is not in scopes: [{string.Join(", ", order)}]");
                }
                items.Add(new HrExamItem(item.Modality.Trim().ToUpperInvariant(), item.BodyParts ?? [], item.ProcedureCodes ?? [], scopes));
            }
            institutions.Add(new HrInstitution(inst.Name.Trim(), inst.Aliases ?? [], items));
        }
        return new HrRegistry(order, institutions);
    }

    // Mutable document classes: YamlDotNet and System.Text.Json fill them, Build turns them into the records above.
    internal sealed class RegistryDocument
    {
        public List<string>? Scopes { get; set; }
        public List<InstitutionDocument>? Institutions { get; set; }
    }

    internal sealed class InstitutionDocument
    {
        public string? Name { get; set; }
        public List<string>? Aliases { get; set; }
        public List<ItemDocument>? Items { get; set; }
    }

    internal sealed class ItemDocument
    {
        public string? Modality { get; set; }
        public List<string>? BodyParts { get; set; }
        public List<string>? ProcedureCodes { get; set; }
        public List<string>? Scopes { get; set; }
    }
}
