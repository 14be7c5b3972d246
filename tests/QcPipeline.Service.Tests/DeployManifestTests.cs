using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using QcPipeline.Service.Bus;
using QcPipeline.Service.Workers;
using static QcPipeline.Service.Tests.DeploySupport;

namespace QcPipeline.Service.Tests;

/// <summary>deploy/k8s and the Dockerfile: every YAML document parses, and every reference holds — config maps, secrets
/// and volumes name objects defined there, Services and the disruption budgets select pods that exist and target their
/// ports, probes use container ports and endpoints the service really answers, every QC__ variable is a configuration key
/// of the service, roles are ones the service accepts, the autoscaler drives the worker Deployment on the worker queue.</summary>
public sealed partial class DeployManifestTests
{
    private static readonly string K8s = Path.Combine(Deploy, "k8s");

    private sealed record Doc(string File, Dictionary<object, object> Node)
    {
        public string Kind => Node.Str("kind") ?? "";
        public string Name => Node.Str("metadata", "name") ?? "";
        public override string ToString() => $"{File}: {Kind}/{Name}";
    }

    private static List<Doc> Manifests() =>
        Directory.GetFiles(K8s, "*.yml").Where(f => Path.GetFileName(f) != "kustomization.yml")
            .SelectMany(f => LoadDocuments(f).Select(d => new Doc(Path.GetFileName(f), d))).ToList();

    private static IEnumerable<Doc> OfKind(string kind) => Manifests().Where(d => d.Kind == kind);

    private static Dictionary<object, object> PodSpec(Doc deployment) => deployment.Node.Map("spec", "template", "spec");

    private static IEnumerable<Dictionary<object, object>> Containers(Doc deployment) =>
        PodSpec(deployment).List("containers").Cast<Dictionary<object, object>>();

    private static bool Selects(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
        selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static Dictionary<string, string> PodLabels(Doc deployment) => deployment.Node.StringMap("spec", "template", "metadata", "labels");

    /// <summary>The roles of a container, as the service reads them: <c>--roles X</c> in its arguments (the command-line
    /// switch), else QC__Service__Roles in its environment.</summary>
    private static ServiceRoles RolesOf(Dictionary<object, object> container)
    {
        var args = container.List("args").Cast<string>().ToList();
        var settings = new Dictionary<string, string?>();
        foreach (var e in container.List("env").Cast<Dictionary<object, object>>())
            if (e.Str("name") == "QC__Service__Roles") settings[ServiceRoles.Key] = e.Str("value");
        int i = args.IndexOf(ServiceRoles.CommandLineSwitch);
        if (i >= 0) settings[ServiceRoles.Key] = args[i + 1];
        Assert.True(settings.ContainsKey(ServiceRoles.Key), $"container {container.Str("name")} names no role");
        return ServiceRoles.FromConfiguration(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
    }

    private static Doc DeploymentOfRole(string role) =>
        Assert.Single(OfKind("Deployment"), d => Containers(d).Any(c => RolesOf(c).ToString() == role));

    [Fact]
    public void Every_document_parses_with_kind_and_name_and_the_kustomization_lists_every_file()
    {
        var docs = Manifests();
        Assert.True(docs.Count >= 15, $"only {docs.Count} documents");
        Assert.All(docs, d =>
        {
            Assert.False(string.IsNullOrEmpty(d.Node.Str("apiVersion")), $"{d}: no apiVersion");
            Assert.False(string.IsNullOrEmpty(d.Kind), $"{d}: no kind");
            Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", d.Name);
        });
        var duplicates = docs.GroupBy(d => (d.Kind, d.Name)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, "defined twice: " + string.Join(", ", duplicates));
        var kustomization = LoadSingle(Path.Combine(K8s, "kustomization.yml"));
        var listed = kustomization.List("resources").Cast<string>().ToHashSet(StringComparer.Ordinal);
        var files = Directory.GetFiles(K8s, "*.yml").Select(Path.GetFileName).Where(f => f != "kustomization.yml").ToHashSet(StringComparer.Ordinal);
        Assert.Equal(files.Order(), listed.Order());
        Assert.Equal("qcpipeline", kustomization.Str("namespace"));
        Assert.Contains(docs, d => d.Kind == "Namespace" && d.Name == "qcpipeline");
    }

    [Fact]
    public void A_deployment_per_role_with_valid_roles_and_selectors_that_match_their_pods()
    {
        var deployments = OfKind("Deployment").ToList();
        Assert.Equal(3, deployments.Count);
        foreach (var role in new[] { "receiver", "worker", "api" })
        {
            var d = DeploymentOfRole(role);
            Assert.True(Selects(d.Node.StringMap("spec", "selector", "matchLabels"), PodLabels(d)), $"{d}: selector does not match its pod labels");
            Assert.Equal(role, PodLabels(d)["app.kubernetes.io/component"]);
        }
        // The selectors keep the roles apart: no Deployment's selector takes another's pods.
        foreach (var a in deployments)
            foreach (var b in deployments.Where(b => b != a))
                Assert.False(Selects(a.Node.StringMap("spec", "selector", "matchLabels"), PodLabels(b)), $"{a} selects the pods of {b}");
    }

    [Fact]
    public void Config_maps_secrets_and_volumes_named_by_the_pods_are_defined_here()
    {
        var configMaps = OfKind("ConfigMap").ToDictionary(d => d.Name, d => d.Node.StringMap("data"));
        var secrets = OfKind("Secret").ToDictionary(d => d.Name, d => d.Node.StringMap("stringData").Concat(d.Node.StringMap("data")).ToDictionary());
        var problems = new List<string>();
        foreach (var d in OfKind("Deployment"))
        {
            var volumes = PodSpec(d).List("volumes").Cast<Dictionary<object, object>>().ToList();
            foreach (var v in volumes)
            {
                if (v.Str("configMap", "name") is { } cm && !configMaps.ContainsKey(cm)) problems.Add($"{d}: volume {v.Str("name")} names ConfigMap {cm}");
                if (v.Str("secret", "secretName") is { } s && !secrets.ContainsKey(s)) problems.Add($"{d}: volume {v.Str("name")} names Secret {s}");
                foreach (var item in v.List("configMap", "items").Cast<Dictionary<object, object>>())
                    if (v.Str("configMap", "name") is { } n && configMaps.TryGetValue(n, out var data) && !data.ContainsKey(item.Str("key")!))
                        problems.Add($"{d}: ConfigMap {n} has no key {item.Str("key")}");
            }
            var volumeNames = volumes.Select(v => v.Str("name")).ToHashSet();
            foreach (var c in Containers(d))
            {
                foreach (var m in c.List("volumeMounts").Cast<Dictionary<object, object>>())
                    if (!volumeNames.Contains(m.Str("name"))) problems.Add($"{d}: mount {m.Str("mountPath")} names no volume of the pod");
                foreach (var from in c.List("envFrom").Cast<Dictionary<object, object>>())
                {
                    if (from.Str("configMapRef", "name") is { } cm && !configMaps.ContainsKey(cm)) problems.Add($"{d}: envFrom ConfigMap {cm}");
                    if (from.Str("secretRef", "name") is { } s && !secrets.ContainsKey(s)) problems.Add($"{d}: envFrom Secret {s}");
                }
                foreach (var e in c.List("env").Cast<Dictionary<object, object>>())
                {
                    if (e.Str("valueFrom", "configMapKeyRef", "name") is { } cm
                        && !(configMaps.TryGetValue(cm, out var data) && data.ContainsKey(e.Str("valueFrom", "configMapKeyRef", "key")!)))
                        problems.Add($"{d}: env {e.Str("name")} from ConfigMap {cm}");
                    if (e.Str("valueFrom", "secretKeyRef", "name") is { } s
                        && !(secrets.TryGetValue(s, out var data2) && data2.ContainsKey(e.Str("valueFrom", "secretKeyRef", "key")!)))
                        problems.Add($"{d}: env {e.Str("name")} from Secret {s}");
                }
            }
        }
        foreach (var t in OfKind("TriggerAuthentication"))
            foreach (var r in t.Node.List("spec", "secretTargetRef").Cast<Dictionary<object, object>>())
                if (!(secrets.TryGetValue(r.Str("name")!, out var data) && data.ContainsKey(r.Str("key")!)))
                    problems.Add($"{t}: Secret {r.Str("name")} key {r.Str("key")}");
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        // Every container takes the shared settings and secrets.
        Assert.All(OfKind("Deployment").SelectMany(Containers), c =>
        {
            var from = c.List("envFrom").Cast<Dictionary<object, object>>().ToList();
            Assert.Contains(from, f => f.Str("configMapRef", "name") == "qcpipeline-config");
            Assert.Contains(from, f => f.Str("secretRef", "name") == "qcpipeline-secrets");
        });
    }

    [Fact]
    public void Every_QC_variable_is_a_configuration_key_of_the_service()
    {
        var optionKeys = OptionKeys();
        var problems = new List<string>();
        var names = new List<(string Where, string Name)>();
        // Config maps and secrets given whole to the pods (envFrom): every key becomes a variable, so each must be one of ours.
        var envFromNames = OfKind("Deployment").SelectMany(Containers).SelectMany(c => c.List("envFrom").Cast<Dictionary<object, object>>())
            .Select(f => f.Str("configMapRef", "name") ?? f.Str("secretRef", "name")).ToHashSet();
        foreach (var d in Manifests().Where(d => d.Kind is "ConfigMap" or "Secret" && envFromNames.Contains(d.Name)))
            names.AddRange(d.Node.StringMap("data").Keys.Concat(d.Node.StringMap("stringData").Keys).Select(k => (d.ToString(), k)));
        foreach (var d in OfKind("Deployment"))
            names.AddRange(Containers(d).SelectMany(c => c.List("env").Cast<Dictionary<object, object>>()).Select(e => (d.ToString(), e.Str("name")!)));
        Assert.True(names.Count >= 20, $"only {names.Count} variables");
        foreach (var (where, name) in names)
        {
            var key = KeyOfEnvironmentVariable(name);
            if (key is null) { problems.Add($"{where}: {name} is not a QC__ setting"); continue; }
            if (Unknown(key, optionKeys) is { } why) problems.Add($"{where}: {name}: {why}");
        }
        Assert.True(problems.Count == 0, string.Join("; ", problems));
    }

    [Fact]
    public void Services_select_deployment_pods_and_target_their_container_ports()
    {
        var deployments = OfKind("Deployment").ToList();
        var services = OfKind("Service").ToList();
        foreach (var s in services)
        {
            var selector = s.Node.StringMap("spec", "selector");
            var targets = deployments.Where(d => Selects(selector, PodLabels(d))).ToList();
            var target = Assert.Single(targets);
            var ports = Containers(target).SelectMany(c => c.List("ports").Cast<Dictionary<object, object>>()).ToList();
            foreach (var p in s.Node.List("spec", "ports").Cast<Dictionary<object, object>>())
            {
                var tp = p.Str("targetPort") ?? p.Str("port")!;
                Assert.True(ports.Any(cp => cp.Str("name") == tp || cp.Str("containerPort") == tp), $"{s}: targetPort {tp} is no port of {target}");
            }
        }
        // DICOM over TCP on 11112 reaches the receivers' DICOM port, which is the service's Dicom:Port; HTTP on 8080
        // reaches the receivers (STOW-RS) and the API.
        var dicom = Assert.Single(services, s => s.Node.List("spec", "ports").Cast<Dictionary<object, object>>().Any(p => p.Str("port") == "11112"));
        Assert.Equal("TCP", dicom.Node.List("spec", "ports").Cast<Dictionary<object, object>>().Single().Str("protocol"));
        Assert.True(Selects(dicom.Node.StringMap("spec", "selector"), PodLabels(DeploymentOfRole("receiver"))));
        var dicomPort = Containers(DeploymentOfRole("receiver")).SelectMany(c => c.List("ports").Cast<Dictionary<object, object>>()).Single(p => p.Str("name") == "dicom");
        Assert.Equal(new Ingest.DicomOptions().Port.ToString(System.Globalization.CultureInfo.InvariantCulture), dicomPort.Str("containerPort"));
        foreach (var role in new[] { "receiver", "api" })
            Assert.Contains(services, s => Selects(s.Node.StringMap("spec", "selector"), PodLabels(DeploymentOfRole(role)))
                && s.Node.List("spec", "ports").Cast<Dictionary<object, object>>().Any(p => p.Str("port") == "8080"));
    }

    [GeneratedRegex(@"^https?://[^:/]+:(\d+)$")]
    private static partial Regex UrlPort();

    [Fact]
    public async Task Probes_use_the_http_container_port_and_endpoints_the_service_answers()
    {
        var config = OfKind("ConfigMap").Single(d => d.Name == "qcpipeline-config").Node.StringMap("data");
        var httpPort = UrlPort().Match(config["QC__Http__Urls"]).Groups[1].Value;
        Assert.Equal("8080", httpPort);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in OfKind("Deployment"))
            foreach (var c in Containers(d))
            {
                var ports = c.List("ports").Cast<Dictionary<object, object>>().ToList();
                foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
                {
                    var get = c.Map(probe, "httpGet");
                    if (probe != "startupProbe") Assert.True(get.Count > 0, $"{d}: no {probe}");
                    if (get.Count == 0) continue;
                    var port = get.Str("port")!;
                    var containerPort = Assert.Single(ports, p => p.Str("name") == port || p.Str("containerPort") == port);
                    Assert.Equal(httpPort, containerPort.Str("containerPort"));
                    paths.Add(get.Str("path")!);
                }
                Assert.Equal("/health/live", c.Str("livenessProbe", "httpGet", "path"));
                Assert.Equal("/health/ready", c.Str("readinessProbe", "httpGet", "path"));
            }
        // The paths are real: a running service answers each of them 200, anonymously.
        await using var svc = await InProcessService.StartAsync();
        using var http = svc.CreateHttpClient();
        foreach (var path in paths)
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode}");
        }
    }

    [Fact]
    public void The_worker_autoscaler_drives_the_worker_deployment_on_its_queue()
    {
        var scaled = Assert.Single(OfKind("ScaledObject"));
        var target = scaled.Node.Map("spec", "scaleTargetRef");
        Assert.Equal("Deployment", target.Str("kind") ?? "Deployment");
        Assert.Equal(DeploymentOfRole("worker").Name, target.Str("name"));
        // KEDA owns the worker count: a replicas field would fight the HPA on every apply.
        Assert.Null(DeploymentOfRole("worker").Node.Get("spec", "replicas"));
        var trigger = Assert.Single(scaled.Node.List("spec", "triggers").Cast<Dictionary<object, object>>());
        Assert.Equal("rabbitmq", trigger.Str("type"));
        Assert.Equal(BusServiceCollectionExtensions.AnalyzeSeriesQueue, trigger.Str("metadata", "queueName"));
        Assert.Equal("QueueLength", trigger.Str("metadata", "mode"));
        Assert.True(int.Parse(trigger.Str("metadata", "value")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Contains(OfKind("TriggerAuthentication"), t => t.Name == trigger.Str("authenticationRef", "name"));
        int min = int.Parse(scaled.Node.Str("spec", "minReplicaCount")!, System.Globalization.CultureInfo.InvariantCulture);
        int max = int.Parse(scaled.Node.Str("spec", "maxReplicaCount")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(min >= 1 && max > min, $"replicas {min}..{max}: at least one worker (QcWorkersDown) and room to grow");
    }

    [Fact]
    public void Disruption_budgets_select_existing_pods_and_leave_room_to_drain()
    {
        var budgets = OfKind("PodDisruptionBudget").ToList();
        Assert.NotEmpty(budgets);
        foreach (var b in budgets)
        {
            var selector = b.Node.StringMap("spec", "selector", "matchLabels");
            var d = Assert.Single(OfKind("Deployment"), d => Selects(selector, PodLabels(d)));
            Assert.True(b.Node.Get("spec", "minAvailable") is not null ^ b.Node.Get("spec", "maxUnavailable") is not null, $"{b}: one of minAvailable, maxUnavailable");
            // minAvailable equal to the replica count would block every node drain.
            if (b.Node.Str("spec", "minAvailable") is { } minAvailable && d.Node.Str("spec", "replicas") is { } replicas)
                Assert.True(int.Parse(minAvailable, System.Globalization.CultureInfo.InvariantCulture) < int.Parse(replicas, System.Globalization.CultureInfo.InvariantCulture), $"{b}: minAvailable {minAvailable} of {replicas}");
        }
        Assert.Contains(budgets, b => Selects(b.Node.StringMap("spec", "selector", "matchLabels"), PodLabels(DeploymentOfRole("receiver"))));
    }

    [Fact]
    public void The_pod_monitor_scrapes_every_role_under_the_job_names_of_the_alert_rules()
    {
        var monitor = Assert.Single(OfKind("PodMonitor"));
        var selector = monitor.Node.StringMap("spec", "selector", "matchLabels");
        var endpoint = Assert.Single(monitor.Node.List("spec", "podMetricsEndpoints").Cast<Dictionary<object, object>>());
        Assert.Equal("/metrics", endpoint.Str("path"));
        var relabel = Assert.Single(endpoint.List("relabelings").Cast<Dictionary<object, object>>(), r => r.Str("targetLabel") == "job");
        var rules = File.ReadAllText(Path.Combine(Deploy, "prometheus", "rules", "qc-alerts.yml"));
        foreach (var role in new[] { "receiver", "worker", "api" })
        {
            var d = DeploymentOfRole(role);
            Assert.True(Selects(selector, PodLabels(d)), $"the PodMonitor does not select {d}");
            Assert.Contains(Containers(d).SelectMany(c => c.List("ports").Cast<Dictionary<object, object>>()), p => p.Str("name") == endpoint.Str("port"));
            // The relabelling as Prometheus applies it: the component label through the regex into the replacement.
            var m = Regex.Match(PodLabels(d)["app.kubernetes.io/component"], "^(?:" + relabel.Str("regex") + ")$");
            Assert.True(m.Success);
            var job = relabel.Str("replacement")!.Replace("$1", m.Groups[1].Value, StringComparison.Ordinal);
            Assert.Equal($"qcpipeline-{role}", job);
        }
        Assert.Contains("job=\"qcpipeline-worker\"", rules, StringComparison.Ordinal);
    }

    [Fact]
    public void The_routing_rules_of_the_workers_load_with_the_service_parser_and_route_a_CT_water_series()
    {
        var worker = DeploymentOfRole("worker");
        var container = Containers(worker).Single();
        var file = container.List("env").Cast<Dictionary<object, object>>().Single(e => e.Str("name") == "QC__Routing__File").Str("value")!;
        var mount = container.List("volumeMounts").Cast<Dictionary<object, object>>().Single(m => file.StartsWith(m.Str("mountPath") + "/", StringComparison.Ordinal));
        var volume = PodSpec(worker).List("volumes").Cast<Dictionary<object, object>>().Single(v => v.Str("name") == mount.Str("name"));
        var data = OfKind("ConfigMap").Single(c => c.Name == volume.Str("configMap", "name")).Node.StringMap("data");
        var routing = SeriesRouting.Parse(data[Path.GetFileName(file)]);
        Assert.Equal(SeriesRouting.Defaults.Count + 2, routing.Rules.Count);
        var route = routing.Route(new Dictionary<string, string?> { ["Modality"] = "CT", ["StationName"] = "CT01", ["SeriesDescription"] = "DAILY WATER" });
        Assert.Contains("ct-water", route.Profiles);
    }

    [Fact]
    public void Containers_run_non_root_read_only_as_the_image_user()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Support.RepoRoot, "Dockerfile"));
        Assert.Matches(@"(?m)^USER \$APP_UID\s*$", dockerfile);
        foreach (var d in OfKind("Deployment"))
        {
            Assert.Equal("true", PodSpec(d).Str("securityContext", "runAsNonRoot"));
            Assert.Equal("1654", PodSpec(d).Str("securityContext", "runAsUser"));   // APP_UID of the .NET images
            foreach (var c in Containers(d))
            {
                Assert.Equal("false", c.Str("securityContext", "allowPrivilegeEscalation"));
                Assert.Equal("true", c.Str("securityContext", "readOnlyRootFilesystem"));
                // A read-only root needs writable /data (the store's tmp/) and /tmp.
                var mounts = c.List("volumeMounts").Cast<Dictionary<object, object>>().Select(m => m.Str("mountPath")).ToHashSet();
                Assert.Contains("/data", mounts);
                Assert.Contains("/tmp", mounts);
            }
        }
    }

    [GeneratedRegex(@"<ProjectReference Include=""\.\.\\([^\\]+)\\")]
    private static partial Regex ProjectReference();

    [Fact]
    public async Task The_Dockerfile_restores_every_project_the_service_and_cli_reference_and_installs_what_they_load_at_run_time()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Support.RepoRoot, "Dockerfile"));
        var needed = new SortedSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>(["QcPipeline.Service", "QcPipeline.Cli"]);
        while (queue.TryDequeue(out var project))
        {
            if (!needed.Add(project)) continue;
            var csproj = File.ReadAllText(Path.Combine(Support.RepoRoot, "src", project, project + ".csproj"));
            foreach (Match m in ProjectReference().Matches(csproj)) queue.Enqueue(m.Groups[1].Value);
        }
        Assert.Contains("QcPipeline.Overlays", needed);
        foreach (var project in needed)
            Assert.Contains($"COPY src/{project}/{project}.csproj src/{project}/", dockerfile, StringComparison.Ordinal);
        var stages = Regex.Matches(dockerfile, @"(?m)^FROM (\S+)").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["mcr.microsoft.com/dotnet/sdk:10.0", "mcr.microsoft.com/dotnet/aspnet:10.0"], stages);
        var runtime = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        // The native decoders the toolkit loads (libcharls.so.2, libopenjp2.so.7), the font the reports embed by default
        // (the first of the service's candidates, from fonts-wqy-microhei), curl for the healthcheck.
        Assert.Equal("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", Reports.CjkFont.DebianDefaults[0]);
        if (File.Exists("/usr/bin/dpkg") && File.Exists(Reports.CjkFont.DebianDefaults[0]))
        {
            var owner = await Support.RunAsync("dpkg", ["-S", Reports.CjkFont.DebianDefaults[0]]);
            Assert.StartsWith("fonts-wqy-microhei:", owner.StdOut, StringComparison.Ordinal);
        }
        foreach (var package in new[] { "libcharls2", "libopenjp2-7", "fonts-wqy-microhei", "curl" })
            Assert.Matches(@"apt-get install[^\n]*\b" + Regex.Escape(package) + @"\b", runtime);
        Assert.Matches(@"HEALTHCHECK .*http://127\.0\.0\.1:8080/health/ready", runtime);
        Assert.Contains("QC__Http__Urls=http://0.0.0.0:8080", runtime, StringComparison.Ordinal);
    }
}
