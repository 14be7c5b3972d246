using System.Text.RegularExpressions;
using static QcPipeline.Service.Tests.DeploySupport;

namespace QcPipeline.Service.Tests;

/// <summary>The configuration references: docs/operations.md lists every key of every option record (and the S3 storage
/// change's keys) with its environment variable; the README table lists only real keys, each once, and every option key.</summary>
public sealed partial class ConfigurationReferenceTests
{
    [GeneratedRegex(@"^\|\s*`(?<key>[A-Za-z][^`]*)`(?<rest>[^|]*)\|\s*(?<env>[^|]*)\|")]
    private static partial Regex Row();

    /// <summary>The rows of the tables under <paramref name="heading"/> (up to the next heading of its level): each row's keys (a row may group keys,
    /// <c>`Bus:RabbitMq:Host` / `Port` / `VirtualHost`</c>: the later ones are siblings of the first) and its env column.</summary>
    private static List<(List<string> Keys, string Env, string Line)> TableRows(string file, string heading)
    {
        var lines = File.ReadAllLines(file);
        int start = Array.FindIndex(lines, l => l.TrimEnd() == heading);
        Assert.True(start >= 0, $"{file}: no heading {heading}");
        var rows = new List<(List<string>, string, string)>();
        int level = heading.TakeWhile(c => c == '#').Count();
        for (int i = start + 1; i < lines.Length && !IsHeadingUpTo(lines[i], level); i++)
        {
            if (!lines[i].StartsWith('|')) continue;
            var m = Row().Match(lines[i]);
            if (!m.Success) continue;
            var first = m.Groups["key"].Value;
            var keys = new List<string> { first };
            var parent = first[..(first.LastIndexOf(':') + 1)];
            keys.AddRange(Regex.Matches(m.Groups["rest"].Value, "`([^`]+)`").Select(s => parent + s.Groups[1].Value));
            rows.Add((keys, m.Groups["env"].Value.Trim(), lines[i]));
        }
        return rows;
    }

    private static bool IsHeadingUpTo(string line, int level)
    {
        int hashes = line.TakeWhile(c => c == '#').Count();
        return hashes > 0 && hashes <= level && line.Length > hashes && line[hashes] == ' ';
    }

    private static string EnvOf(string key) => "QC__" + key.Replace(":", "__", StringComparison.Ordinal);

    [Fact]
    public void The_operations_reference_lists_every_key_with_its_environment_variable()
    {
        var rows = TableRows(Path.Combine(Support.RepoRoot, "docs", "operations.md"), "## Configuration reference");
        var documented = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var optionKeys = OptionKeys();
        foreach (var (keys, env, line) in rows)
        {
            var key = Assert.Single(keys);   // one key per row here, so the environment form is exact
            if (!documented.TryAdd(Normalize(key), env)) problems.Add($"listed twice: {key}");
            if (env != $"`{EnvOf(key)}`") problems.Add($"{key}: environment variable {env}, expected `{EnvOf(key)}`");
            if (Unknown(key, optionKeys) is { } why) problems.Add(why);
        }
        foreach (var key in optionKeys)
            if (!documented.ContainsKey(Normalize(key))) problems.Add($"not documented: {key}");
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        Assert.True(documented.Count >= 100, $"only {documented.Count} rows");
    }

    [Fact]
    public void The_README_table_lists_every_option_key_once_and_no_other()
    {
        var rows = TableRows(Path.Combine(Support.RepoRoot, "README.md"), "### Configuration");
        var optionKeys = OptionKeys();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        foreach (var (keys, env, _) in rows)
        {
            foreach (var key in keys)
            {
                if (!seen.Add(Normalize(key))) problems.Add($"listed twice: {key}");
                if (Unknown(key, optionKeys) is { } why) problems.Add(why);
            }
            // The environment column starts with the first key's form (grouped rows continue with "…").
            if (!env.StartsWith($"`{EnvOf(keys[0])}", StringComparison.Ordinal)) problems.Add($"{keys[0]}: environment variable {env}");
        }
        foreach (var key in optionKeys)
            if (!seen.Contains(Normalize(key))) problems.Add($"not in the README table: {key}");
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }
}
