using Microsoft.Extensions.Options;

namespace QcPipeline.Service;

/// <summary>What this process runs (configuration <c>Service:Roles</c>, <c>QC__Service__Roles</c> or <c>--roles</c>: a comma-separated
/// list of <c>receiver</c>, <c>worker</c>, <c>api</c>; default all three, the embedded one-process service).
/// <list type="bullet">
/// <item><b>receiver</b>: the DICOM listener (with start-up reconciliation of the store), STOW-RS, the ingest path, the outbox
/// dispatcher, and the series sweeper (unless <c>Pipeline:SweeperEnabled</c> says otherwise).</item>
/// <item><b>worker</b>: the <c>AnalyzeSeries</c> consumer on the bus; no DICOM port, no DICOMweb.</item>
/// <item><b>api</b>: QIDO-RS, WADO-RS and the <c>/api/*</c> endpoint groups; no bus.</item>
/// </list>
/// Every role has <c>/health/*</c>, <c>/metrics</c> and <c>/api/whoami</c> on <c>Http:Urls</c>, and migrates the schema at start
/// (serialised across processes on PostgreSQL).</summary>
public sealed record ServiceRoles(bool Receiver, bool Worker, bool Api)
{
    public const string Section = "Service";
    public const string Key = "Service:Roles";
    public const string CommandLineSwitch = "--roles";

    public static readonly ServiceRoles All = new(true, true, true);

    /// <summary>A process that publishes or consumes messages: receivers (the outbox) and workers. The API role has no bus.</summary>
    public bool UsesBus => Receiver || Worker;

    /// <summary>Reads <see cref="Key"/>; an unknown or empty list throws <see cref="OptionsValidationException"/> (exit code 2
    /// with the key named).</summary>
    public static ServiceRoles FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var text = configuration[Key];
        if (text is null) return All;
        bool receiver = false, worker = false, api = false;
        var names = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "receiver": receiver = true; break;
                case "worker": worker = true; break;
                case "api": api = true; break;
                default: throw Invalid($"{Key} has an unknown role '{Shorten(name)}' (known: receiver, worker, api)");
            }
        }
        if (names.Length == 0) throw Invalid($"{Key} is empty; give one or more of receiver, worker, api");
        return new ServiceRoles(receiver, worker, api);
    }

    public override string ToString() =>
        string.Join(',', new[] { (Receiver, "receiver"), (Worker, "worker"), (Api, "api") }.Where(r => r.Item1).Select(r => r.Item2));

    private static OptionsValidationException Invalid(string message) => new(Section, typeof(ServiceRoles), [message]);

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}

/// <summary>This process, as recorded with what it does (a series claim's <c>ClaimedBy</c>, a result's <c>Worker</c>):
/// host name and process id.</summary>
public static class ServiceInstance
{
    public static string Name { get; } = Make();

    private static string Make()
    {
        var name = $"{Environment.MachineName}/{Environment.ProcessId}";
        return name.Length <= 100 ? name : name[^100..]; // the column's length; the pid at the end is what tells processes apart
    }
}
