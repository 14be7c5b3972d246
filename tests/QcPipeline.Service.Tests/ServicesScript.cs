namespace QcPipeline.Service.Tests;

/// <summary><c>scripts/services.sh</c> with its own state folder (QC_SERVICES_DIR): what the private PostgreSQL and RabbitMQ
/// fixtures run, and the env file it writes.</summary>
internal sealed class ServicesScript(string stateDir)
{
    private readonly string _script = Path.Combine(Support.RepoRoot, "scripts", "services.sh");

    /// <summary>Runs <c>services.sh ARGS</c>; throws with its output when it fails.</summary>
    public async Task<ProcResult> RunAsync(TimeSpan timeout, params string[] args)
    {
        var r = await Support.RunAsync("bash", [_script, .. args], timeout, new Dictionary<string, string> { ["QC_SERVICES_DIR"] = stateDir });
        if (r.ExitCode != 0) throw new InvalidOperationException($"services.sh {string.Join(' ', args)} failed:\n{r.All}");
        return r;
    }

    /// <summary>The KEY=VALUE lines of the env file.</summary>
    public Dictionary<string, string> Env() =>
        File.ReadAllLines(Path.Combine(stateDir, "services.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
}
