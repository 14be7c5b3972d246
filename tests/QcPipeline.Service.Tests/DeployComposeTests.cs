using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using static QcPipeline.Service.Tests.DeploySupport;

namespace QcPipeline.Service.Tests;

/// <summary>deploy/docker-compose.yml: our containers are a receiver, two workers and an API whose QC__ variables are real
/// configuration keys; dependencies, volumes and mounted files exist; Prometheus scrapes every one of our containers by
/// its compose name; every variable has a default and is in .env.example; and docker-compose itself accepts the file.</summary>
public sealed partial class DeployComposeTests
{
    private static readonly string ComposeFile = Path.Combine(Deploy, "docker-compose.yml");

    private static Dictionary<object, object> Compose() => LoadSingle(ComposeFile);

    private static Dictionary<string, Dictionary<object, object>> Services() =>
        Compose().Map("services").ToDictionary(kv => (string)kv.Key, kv => (Dictionary<object, object>)kv.Value, StringComparer.Ordinal);

    /// <summary>A service's environment, given as a map or as a list of NAME=VALUE.</summary>
    private static Dictionary<string, string> Environment(Dictionary<object, object> service)
    {
        if (service.Get("environment") is List<object> list)
            return list.Cast<string>().Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "", StringComparer.Ordinal);
        return service.StringMap("environment");
    }

    /// <summary>Our containers: those configured with QC__ variables.</summary>
    private static Dictionary<string, Dictionary<object, object>> Ours() =>
        Services().Where(s => Environment(s.Value).Keys.Any(k => k.StartsWith("QC__", StringComparison.Ordinal))).ToDictionary(StringComparer.Ordinal);

    private static ServiceRoles RolesOf(Dictionary<object, object> service)
    {
        var settings = new Dictionary<string, string?>();
        if (Environment(service).TryGetValue("QC__Service__Roles", out var env)) settings[ServiceRoles.Key] = env;
        var command = service.Get("command") is List<object> c ? c.Cast<string>().ToList() : (service.Str("command") ?? "").Split(' ').ToList();
        int i = command.IndexOf(ServiceRoles.CommandLineSwitch);
        if (i >= 0) settings[ServiceRoles.Key] = command[i + 1];
        Assert.True(settings.ContainsKey(ServiceRoles.Key), "no role given");
        return ServiceRoles.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    [Fact]
    public void Our_containers_are_a_receiver_two_workers_and_an_api_configured_with_real_keys()
    {
        var ours = Ours();
        var roles = ours.ToDictionary(s => s.Key, s => RolesOf(s.Value).ToString());
        Assert.Equal(["api", "receiver", "worker", "worker"], roles.Values.Order());
        var optionKeys = OptionKeys();
        var problems = ours.SelectMany(s => Environment(s.Value).Keys.Select(name => (Service: s.Key, Name: name)))
            .Select(e => KeyOfEnvironmentVariable(e.Name) is { } key ? Unknown(key, optionKeys) is { } why ? $"{e.Service}: {e.Name}: {why}" : null : $"{e.Service}: {e.Name} is not a QC__ setting")
            .OfType<string>().ToList();
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        // The scale-out transports, and one shared database, broker and object store named by their compose services.
        var services = Services();
        foreach (var (name, service) in ours)
        {
            var env = Environment(service);
            Assert.Equal("RabbitMq", env["QC__Bus__Transport"]);
            Assert.Equal("Postgres", env["QC__Database__Provider"]);
            Assert.Contains(env["QC__Bus__RabbitMq__Host"], services.Keys);
            Assert.Matches(@"(^|;)Host=postgres(;|$)", env["QC__Database__ConnectionString"]);
            Assert.Contains("postgres", services.Keys);
            var s3Host = new Uri(env["QC__Storage__S3__ServiceUrl"]).Host;
            Assert.Contains(s3Host, services.Keys);
            Assert.Equal("S3", env["QC__Storage__Backend"]);
            // HTTP beyond loopback needs an API key in every role, or the service refuses to start.
            Assert.StartsWith("http://0.0.0.0:", env["QC__Http__Urls"], StringComparison.Ordinal);
            Assert.True(env.ContainsKey("QC__Http__Auth__ApiKeys__0__KeySha256"), $"{name}: no API key");
        }
        Assert.Contains("management", Services()["rabbitmq"].Str("image")!, StringComparison.Ordinal);
    }

    [Fact]
    public void Dependencies_volumes_and_mounted_files_exist()
    {
        var compose = Compose();
        var services = Services();
        var declared = compose.Map("volumes").Keys.Cast<string>().ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (name, service) in services)
        {
            foreach (var (dep, condition) in service.Map("depends_on"))
            {
                if (!services.TryGetValue((string)dep, out var target)) { problems.Add($"{name} depends on {dep}, which is not a service"); continue; }
                if (condition.Str("condition") == "service_healthy" && target.Get("healthcheck") is null)
                    problems.Add($"{name} waits for {dep} to be healthy, which has no healthcheck");
            }
            foreach (var volume in service.List("volumes").Cast<string>())
            {
                var source = volume.Split(':')[0];
                if (source.StartsWith('.') || source.StartsWith('/'))
                {
                    var path = Path.GetFullPath(Path.Combine(Deploy, source));
                    if (!File.Exists(path) && !Directory.Exists(path)) problems.Add($"{name}: {source} does not exist");
                }
                else if (!declared.Contains(source)) problems.Add($"{name}: volume {source} is not declared");
            }
            if (service.Get("healthcheck") is null) problems.Add($"{name} has no healthcheck");
        }
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        // Our containers wait for a healthy database and object store; receivers and workers also for the broker.
        foreach (var (name, service) in Ours())
        {
            var deps = service.Map("depends_on");
            Assert.Equal("service_healthy", deps.Str("postgres", "condition"));
            Assert.Equal("service_healthy", deps.Str("minio", "condition"));
            if (RolesOf(service).UsesBus) Assert.Equal("service_healthy", deps.Str("rabbitmq", "condition"));
            Assert.Contains(service.List("volumes").Cast<string>(), v => v.EndsWith(":/data", StringComparison.Ordinal));
        }
    }

    [GeneratedRegex(@"^(?<host>[^:]+):(?<port>\d+)$")]
    private static partial Regex Target();

    [Fact]
    public void Prometheus_scrapes_every_one_of_our_containers_by_its_compose_name()
    {
        var services = Services();
        var prometheus = services["prometheus"];
        string Mounted(Dictionary<object, object> service, string target) =>
            service.List("volumes").Cast<string>().Select(v => v.Split(':')).Single(p => p.Length >= 2 && p[1] == target)[0];
        var config = LoadSingle(Path.GetFullPath(Path.Combine(Deploy, Mounted(prometheus, "/etc/prometheus/prometheus.yml"))));
        var ours = Ours();
        var scraped = new List<(string Job, string Host)>();
        foreach (var job in config.List("scrape_configs").Cast<Dictionary<object, object>>())
        {
            foreach (var target in job.List("static_configs").Cast<Dictionary<object, object>>().SelectMany(s => s.List("targets").Cast<string>()))
            {
                var m = Target().Match(target);
                Assert.True(m.Success, target);
                var host = m.Groups["host"].Value;
                if (host == "localhost") { Assert.Equal("prometheus", job.Str("job_name")); continue; }
                Assert.True(services.ContainsKey(host), $"job {job.Str("job_name")}: {host} is not a compose service");
                if (ours.TryGetValue(host, out var service))
                    Assert.EndsWith(":" + m.Groups["port"].Value, Environment(service)["QC__Http__Urls"], StringComparison.Ordinal);
                scraped.Add((job.Str("job_name")!, host));
            }
        }
        foreach (var (name, service) in ours)
            Assert.Contains(("qcpipeline-" + RolesOf(service), name), scraped);
        // Alert rules and Alertmanager: the rule glob is mounted from deploy/prometheus/rules, the Alertmanager is a service.
        var ruleGlob = Assert.Single(config.List("rule_files").Cast<string>());
        var rulesDir = Path.GetFullPath(Path.Combine(Deploy, Mounted(prometheus, Path.GetDirectoryName(ruleGlob)!)));
        Assert.NotEmpty(Directory.GetFiles(rulesDir, Path.GetFileName(ruleGlob)));
        var alertmanager = config.List("alerting", "alertmanagers").Cast<Dictionary<object, object>>()
            .SelectMany(a => a.List("static_configs").Cast<Dictionary<object, object>>()).SelectMany(s => s.List("targets").Cast<string>()).Single();
        Assert.Contains(Target().Match(alertmanager).Groups["host"].Value, services.Keys);
        Assert.Equal("alertmanager/alertmanager.yml", Path.GetRelativePath(Deploy, Path.GetFullPath(Path.Combine(Deploy, Mounted(services["alertmanager"], "/etc/alertmanager/alertmanager.yml")))));
        // Grafana's provisioned datasource reaches this Prometheus by its service name.
        var datasource = LoadSingle(Path.Combine(Deploy, "grafana", "provisioning", "datasources", "prometheus.yml"));
        var url = new Uri(datasource.List("datasources").Cast<Dictionary<object, object>>().Single().Str("url")!);
        Assert.Equal("prometheus", url.Host);
        Assert.Equal("./grafana/provisioning", Mounted(services["grafana"], "/etc/grafana/provisioning"));
    }

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?<default>:?-[^}]*)?\}")]
    private static partial Regex Variable();

    [Fact]
    public void Every_variable_has_a_default_and_is_described_in_the_env_example()
    {
        var text = File.ReadAllText(ComposeFile);
        var uses = Variable().Matches(text).ToList();
        Assert.NotEmpty(uses);
        Assert.All(uses, m => Assert.True(m.Groups["default"].Success, $"{m.Value} has no default, so `config` fails without deploy/.env"));
        var example = File.ReadAllLines(Path.Combine(Deploy, ".env.example"))
            .Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(uses.Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal).Order(), example.Order());
    }

    /// <summary>docker-compose's own check, where it is installed (scripts/test.sh installs Debian's docker-compose and runs the
    /// same check before the tests); its resolved output also shows that this test class reads the merge keys as compose does.</summary>
    [Fact]
    public async Task Docker_compose_accepts_the_file_with_and_without_the_env_example()
    {
        if (!File.Exists("/usr/bin/docker-compose")) return;
        var quiet = await Support.RunAsync("docker-compose", ["-f", ComposeFile, "config", "-q"]);
        Assert.True(quiet.ExitCode == 0, quiet.All);
        var withEnv = await Support.RunAsync("docker-compose", ["--env-file", Path.Combine(Deploy, ".env.example"), "-f", ComposeFile, "config", "-q"]);
        Assert.True(withEnv.ExitCode == 0, withEnv.All);
        var resolved = await Support.RunAsync("docker-compose", ["-f", ComposeFile, "config"]);
        Assert.True(resolved.ExitCode == 0, resolved.All);
        var dir = Support.NewTempDir("qccompose");
        try
        {
            await CheckResolvedAsync(resolved.StdOut, dir);
        }
        finally
        {
            Support.TryDeleteDir(dir);
        }
    }

    private static async Task CheckResolvedAsync(string resolvedYaml, string dir)
    {
        var path = Path.Combine(dir, "resolved.yml");
        await File.WriteAllTextAsync(path, resolvedYaml);
        var theirs = LoadSingle(path).Map("services");
        foreach (var (name, service) in Ours())
        {
            var env = Environment(service);
            var resolvedEnv = theirs.StringMap(name, "environment");
            Assert.Equal(env.Keys.Order(), resolvedEnv.Keys.Order());
            Assert.Equal(RolesOf(service).ToString(), resolvedEnv["QC__Service__Roles"]);
        }
        // A broken reference is caught: a depends_on naming a missing service fails the check.
        var broken = Path.Combine(Path.GetDirectoryName(path)!, "broken.yml");
        await File.WriteAllTextAsync(broken, (await File.ReadAllTextAsync(ComposeFile)).Replace("condition: service_started", "condition: service_started\n      no-such-service:\n        condition: service_started", StringComparison.Ordinal));
        var bad = await Support.RunAsync("docker-compose", ["-f", broken, "config", "-q"]);
        Assert.NotEqual(0, bad.ExitCode);
    }
}
