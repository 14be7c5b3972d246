using System.Globalization;
using System.Text.Json;

namespace QcPipeline.Service.Tests;

/// <summary>A real Prometheus (Debian <c>prometheus</c>) started by <c>scripts/services.sh start prometheus HOST:PORT</c> in its
/// own state folder: loopback, a free port, its own TSDB, scraping the targets' <c>/metrics</c> every second. Stopped with its
/// data on dispose.</summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly ServicesScript _script;
    private readonly HttpClient _http;

    private PrometheusServer(string dir, ServicesScript script, Uri url)
    {
        _dir = dir;
        _script = script;
        Url = url;
        _http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Url { get; }

    public static async Task<PrometheusServer> StartAsync(params string[] targets)
    {
        var dir = Support.NewTempDir("qc-prom");
        var script = new ServicesScript(dir);
        try
        {
            await script.RunAsync(TimeSpan.FromSeconds(90), ["start", "prometheus", .. targets]);
            return new PrometheusServer(dir, script, new Uri(script.Env()["PROMETHEUS_URL"]));
        }
        catch
        {
            try { await script.RunAsync(TimeSpan.FromSeconds(30), "stop", "prometheus"); }
            catch (InvalidOperationException) { /* best effort */ }
            Support.TryDeleteDir(dir);
            throw;
        }
    }

    /// <summary>An instant query through the HTTP API (<c>/api/v1/query</c>): the result vector, each sample's labels and value.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var json = await _http.GetStringAsync(new Uri("/api/v1/query?query=" + Uri.EscapeDataString(promql), UriKind.Relative));
        var root = JsonDocument.Parse(json).RootElement;
        if (root.GetProperty("status").GetString() != "success") throw new InvalidOperationException($"query {promql} failed: {json}");
        var data = root.GetProperty("data");
        if (data.GetProperty("resultType").GetString() != "vector") throw new InvalidOperationException($"query {promql}: not a vector: {json}");
        return data.GetProperty("result").EnumerateArray().Select(s => (
            s.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            double.Parse(s.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture))).ToList();
    }

    /// <summary>Polls <paramref name="promql"/> until it returns samples (scrapes are every second; target discovery takes a
    /// few), or throws after <paramref name="timeout"/>.</summary>
    public async Task<List<(Dictionary<string, string> Labels, double Value)>> WaitForAsync(string promql, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            var r = await QueryAsync(promql);
            if (r.Count > 0) return r;
            if (DateTime.UtcNow > until)
                throw new TimeoutException($"Prometheus returned nothing for {promql} within {timeout}; targets: " +
                    await _http.GetStringAsync(new Uri("/api/v1/targets", UriKind.Relative)));
            await Task.Delay(500);
        }
    }

    /// <summary>Every series Prometheus holds whose name matches <paramref name="nameRegex"/> (<c>/api/v1/series</c>), as label sets.</summary>
    public async Task<List<Dictionary<string, string>>> SeriesAsync(string nameRegex)
    {
        var match = Uri.EscapeDataString("{__name__=~\"" + nameRegex + "\"}");
        var json = await _http.GetStringAsync(new Uri("/api/v1/series?match[]=" + match, UriKind.Relative));
        return JsonDocument.Parse(json).RootElement.GetProperty("data").EnumerateArray()
            .Select(s => s.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        try { await _script.RunAsync(TimeSpan.FromSeconds(60), "stop", "prometheus"); }
        catch (InvalidOperationException) { /* best effort; its folder goes below */ }
        Support.TryDeleteDir(_dir);
    }
}
