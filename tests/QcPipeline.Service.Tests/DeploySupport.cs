using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace QcPipeline.Service.Tests;

/// <summary>Reading deploy/ for the manifest tests: YAML documents as plain object graphs (merge keys resolved, as
/// docker-compose resolves them), and the service's real configuration keys taken from its option records.</summary>
internal static partial class DeploySupport
{
    public static readonly string Deploy = Path.Combine(Support.RepoRoot, "deploy");

    private static readonly IDeserializer Yaml = new DeserializerBuilder().Build();

    /// <summary>Every document of a YAML file (Dictionary&lt;object, object&gt;, List&lt;object&gt;, string scalars);
    /// empty documents are skipped.</summary>
    public static List<Dictionary<object, object>> LoadDocuments(string path)
    {
        var docs = new List<Dictionary<object, object>>();
        var parser = new MergingParser(new Parser(new StringReader(File.ReadAllText(path))));
        parser.Consume<StreamStart>();
        while (parser.Accept<DocumentStart>(out _))
        {
            if (Yaml.Deserialize<object>(parser) is Dictionary<object, object> doc) docs.Add(doc);
        }
        return docs;
    }

    public static Dictionary<object, object> LoadSingle(string path) => Assert.Single(LoadDocuments(path));

    // Navigation over the object graph: a missing key is null, so a test can say what it expected.
    public static object? Get(this object? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not Dictionary<object, object> map || !map.TryGetValue(key, out node)) return null;
        }
        return node;
    }

    public static string? Str(this object? node, params string[] path) => node.Get(path) as string;

    public static Dictionary<object, object> Map(this object? node, params string[] path) =>
        node.Get(path) as Dictionary<object, object> ?? [];

    public static List<object> List(this object? node, params string[] path) => node.Get(path) as List<object> ?? [];

    public static Dictionary<string, string> StringMap(this object? node, params string[] path) =>
        node.Map(path).ToDictionary(kv => (string)kv.Key, kv => kv.Value as string ?? "", StringComparer.Ordinal);

    // ---- configuration keys ----

    /// <summary>Sections owned by ASP.NET Core itself rather than by an option record of ours (README lists the two
    /// Logging keys people set).</summary>
    public static readonly string[] FrameworkSections = ["Logging:", "Kestrel:"];

    /// <summary>Every configuration key of the service, from its option records (each has <c>const string Section</c>):
    /// settable properties, nested records as sub-sections, arrays as <c>:N</c>. <c>Service:Roles</c> is read by
    /// <see cref="ServiceRoles"/> itself.</summary>
    public static SortedSet<string> OptionKeys()
    {
        var keys = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { ServiceRoles.Key };
        foreach (var type in typeof(ServiceRoles).Assembly.GetTypes())
        {
            if (type == typeof(ServiceRoles)) continue;
            var section = type.GetField("Section", BindingFlags.Public | BindingFlags.Static);
            if (section is not { IsLiteral: true } || section.GetRawConstantValue() is not string name) continue;
            AddKeys(type, name, keys, 0);
        }
        return keys;
    }

    private static void AddKeys(Type type, string prefix, SortedSet<string> keys, int depth)
    {
        Assert.True(depth < 6, $"options nest too deep at {prefix}");
        foreach (var p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is not { IsPublic: true }) continue;   // computed properties are not configuration
            var key = prefix + ":" + p.Name;
            var t = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (t.IsArray)
            {
                var element = t.GetElementType()!;
                if (IsLeaf(element)) keys.Add(key + ":N");
                else AddKeys(element, key + ":N", keys, depth + 1);
            }
            else if (IsLeaf(t)) keys.Add(key);
            else AddKeys(t, key, keys, depth + 1);
        }
    }

    private static bool IsLeaf(Type t) =>
        t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal) || t == typeof(DateTimeOffset);

    [GeneratedRegex(@"^(\d+|[A-Z])$")]
    private static partial Regex IndexSegment();

    /// <summary>A key with its list indexes made <c>N</c>: <c>Dicom:AllowedDevices:0:Hosts:M</c> → <c>Dicom:AllowedDevices:N:Hosts:N</c>.</summary>
    public static string Normalize(string key) =>
        string.Join(':', key.Split(':').Select(s => IndexSegment().IsMatch(s) ? "N" : s));

    /// <summary>The configuration key of a <c>QC__</c> environment variable, or null for another variable.</summary>
    public static string? KeyOfEnvironmentVariable(string name) =>
        name.StartsWith("QC__", StringComparison.Ordinal) ? name["QC__".Length..].Replace("__", ":", StringComparison.Ordinal) : null;

    /// <summary>Why a key is not one the service reads, or null when it is (option records, the S3 change's keys, the
    /// framework's sections).</summary>
    public static string? Unknown(string key, ISet<string> optionKeys)
    {
        var normal = Normalize(key);
        if (optionKeys.Contains(normal)) return null;
        if (FrameworkSections.Any(s => key.StartsWith(s, StringComparison.OrdinalIgnoreCase)) && key.Split(':').Length >= 2) return null;
        return $"{key} is not a configuration key of the service";
    }
}
