using System.Collections.Frozen;
using System.Text;
using QcPipeline.Analysis.Phantoms;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace QcPipeline.Service.Workers;

/// <summary>Which analysis profiles a series gets (DESIGN.md, Routing). Label and integrity checks run on every series
/// whatever the route; a series no rule matches is not a QC series and gets no phantom analysis.</summary>
/// <param name="Profiles">Distinct profile names (<see cref="ProfileRouter.Profiles"/>), in rule order.</param>
/// <param name="Rules">Names of the rules that matched.</param>
public sealed record SeriesRoute(IReadOnlyList<string> Profiles, IReadOnlyList<string> Rules)
{
    public bool IsQc => Profiles.Count > 0;
}

/// <summary>One selector rule: every key in <see cref="All"/> must match, and at least one key in <see cref="Any"/> when
/// it has keys. A key is a DICOM keyword from <see cref="SeriesRouting.Attributes"/>; its patterns are alternatives.</summary>
public sealed record RoutingRule(string Name, IReadOnlyDictionary<string, IReadOnlyList<string>> All,
    IReadOnlyDictionary<string, IReadOnlyList<string>> Any, IReadOnlyList<string> Profiles);

public sealed class RoutingException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The selector rules: the built-in phantom conventions plus those of a YAML (or JSON) file. Patterns use
/// <c>*</c> (any run of characters) and <c>?</c> (one character), match the whole value, ignore case and the value's
/// leading and trailing spaces, and see a person name with its <c>^</c> separators (<c>QC^CT</c>).</summary>
public sealed class SeriesRouting
{
    /// <summary>The attributes a rule may test (series-level values, taken from the series' first instance).</summary>
    public static FrozenSet<string> Attributes { get; } = FrozenSet.Create(StringComparer.Ordinal,
        "Modality", "StationName", "PatientID", "PatientName", "StudyDescription", "SeriesDescription", "ProtocolName",
        "AccessionNumber", "Manufacturer", "ManufacturerModelName", "DeviceSerialNumber", "BodyPartExamined", "InstitutionName",
        "InstitutionalDepartmentName", "CallingAE");

    /// <summary>Common phantom naming conventions: a patient or study/series named like a phantom gets <c>auto</c>, which
    /// chooses the analyses by modality and image content.</summary>
    public static IReadOnlyList<RoutingRule> Defaults { get; } =
    [
        new("phantom-names", new Dictionary<string, IReadOnlyList<string>>(),
            new[] { "PatientName", "PatientID", "StudyDescription", "SeriesDescription" }
                .ToDictionary(k => k, _ => (IReadOnlyList<string>)["QC*", "*PHANTOM*", "*水模*", "*模体*"]),
            [ProfileRouter.Auto]),
    ];

    public SeriesRouting(IReadOnlyList<RoutingRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        Rules = rules;
    }

    public IReadOnlyList<RoutingRule> Rules { get; }

    public static SeriesRouting Default { get; } = new(Defaults);

    /// <summary>The route of a series with these attribute values (keyword → value; a missing key matches nothing).</summary>
    public SeriesRoute Route(IReadOnlyDictionary<string, string?> attributes)
    {
        ArgumentNullException.ThrowIfNull(attributes);
        var profiles = new List<string>();
        var names = new List<string>();
        foreach (var rule in Rules)
        {
            if (!rule.All.All(kv => MatchesAny(attributes, kv.Key, kv.Value))) continue;
            if (rule.Any.Count > 0 && !rule.Any.Any(kv => MatchesAny(attributes, kv.Key, kv.Value))) continue;
            names.Add(rule.Name);
            foreach (var p in rule.Profiles) if (!profiles.Contains(p, StringComparer.Ordinal)) profiles.Add(p);
        }
        return new SeriesRoute(profiles, names);
    }

    private static bool MatchesAny(IReadOnlyDictionary<string, string?> attributes, string key, IReadOnlyList<string> patterns) =>
        attributes.TryGetValue(key, out var value) && value is not null && patterns.Any(p => Wildcard.Matches(p, value.Trim()));

    // ------------------------------------------------------------------ the file

    private sealed class FileDocument
    {
        public bool? UseDefaults { get; set; }
        public List<FileRule>? Rules { get; set; }
    }

    private sealed class FileRule
    {
        public string? Name { get; set; }
        public Dictionary<string, object?>? Match { get; set; }
        public Dictionary<string, object?>? MatchAny { get; set; }
        public List<string>? Profiles { get; set; }
    }

    private static readonly IDeserializer Yaml = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();

    /// <summary>Reads a routing file (YAML, or JSON, which YAML reads too). See README "Routing".</summary>
    public static SeriesRouting Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path, Encoding.UTF8); }
        catch (IOException ex) { throw new RoutingException($"routing file {path}: {ex.Message}", ex); }
        return Parse(text);
    }

    public static SeriesRouting Parse(string text)
    {
        FileDocument? doc;
        try { doc = Yaml.Deserialize<FileDocument>(text); }
        catch (YamlException ex) { throw new RoutingException($"routing file is not valid YAML at line {ex.Start.Line}: {ex.InnerException?.Message ?? ex.Message}", ex); }
        doc ??= new FileDocument();
        var rules = new List<RoutingRule>();
        if (doc.UseDefaults ?? true) rules.AddRange(Defaults);
        var seen = new HashSet<string>(rules.Select(r => r.Name), StringComparer.Ordinal);
        int n = 0;
        foreach (var r in doc.Rules ?? [])
        {
            n++;
            var name = string.IsNullOrWhiteSpace(r.Name) ? $"rule-{n}" : r.Name.Trim();
            if (!seen.Add(name)) throw new RoutingException($"rule '{name}' is defined twice");
            var all = Keys(name, "match", r.Match);
            var any = Keys(name, "matchAny", r.MatchAny);
            if (all.Count == 0 && any.Count == 0) throw new RoutingException($"rule '{name}' has neither match nor matchAny: it would match every series");
            if (r.Profiles is not { Count: > 0 }) throw new RoutingException($"rule '{name}' names no profiles");
            foreach (var p in r.Profiles)
                if (!ProfileRouter.Profiles.Contains(p, StringComparer.Ordinal))
                    throw new RoutingException($"rule '{name}': unknown profile '{p}' (one of {string.Join(", ", ProfileRouter.Profiles)})");
            rules.Add(new RoutingRule(name, all, any, r.Profiles.Distinct(StringComparer.Ordinal).ToArray()));
        }
        return new SeriesRouting(rules);
    }

    private static Dictionary<string, IReadOnlyList<string>> Keys(string rule, string section, Dictionary<string, object?>? map)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (key, value) in map ?? [])
        {
            if (!Attributes.Contains(key))
                throw new RoutingException($"rule '{rule}': {section} key '{key}' is not one of {string.Join(", ", Attributes.Order(StringComparer.Ordinal))}");
            string[] patterns = value switch
            {
                string s => [s],
                IEnumerable<object?> list => list.Select(o => o as string ?? throw new RoutingException($"rule '{rule}': {key} must be a pattern or a list of patterns")).ToArray(),
                _ => throw new RoutingException($"rule '{rule}': {key} must be a pattern or a list of patterns"),
            };
            if (patterns.Length == 0) throw new RoutingException($"rule '{rule}': {key} has an empty list");
            result[key] = patterns;
        }
        return result;
    }
}

/// <summary>Whole-value wildcard match, <c>*</c> and <c>?</c>, case-insensitive (invariant upper case).</summary>
public static class Wildcard
{
    public static bool Matches(string pattern, string value)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(value);
        var p = pattern.ToUpperInvariant();
        var v = value.ToUpperInvariant();
        int pi = 0, vi = 0, star = -1, mark = 0;
        while (vi < v.Length)
        {
            if (pi < p.Length && (p[pi] == '?' || p[pi] == v[vi])) { pi++; vi++; }
            else if (pi < p.Length && p[pi] == '*') { star = pi++; mark = vi; }
            else if (star >= 0) { pi = star + 1; vi = ++mark; }
            else return false;
        }
        while (pi < p.Length && p[pi] == '*') pi++;
        return pi == p.Length;
    }
}
