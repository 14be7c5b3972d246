using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>A throwaway Orthanc (Debian packages orthanc, orthanc-dicomweb) for the tests of one collection: free
/// loopback ports, data in a temp folder, the configuration from <c>scripts/services.sh orthanc-config</c> (the same
/// one <c>services.sh start orthanc</c> runs), started as a child process and killed on dispose.</summary>
public sealed class OrthancFixture : IAsyncLifetime
{
    private Process? _process;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("qc-orthanc-").FullName;
    public int DicomPort { get; private set; }
    public int HttpPort { get; private set; }
    public Uri Url => new($"http://127.0.0.1:{HttpPort}/");
    public HttpClient Http { get; private set; } = null!;
    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";
    private string LogPath => Path.Combine(Directory, "orthanc.log");

    public static string? Executable =>
        new[] { "/usr/sbin/Orthanc", "/usr/bin/Orthanc" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "Orthanc")))
            .FirstOrDefault(File.Exists);

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public async Task InitializeAsync()
    {
        var exe = Executable ?? throw new InvalidOperationException("Orthanc is not installed (scripts/test.sh installs orthanc and orthanc-dicomweb)");
        DicomPort = FreePort();
        do HttpPort = FreePort(); while (HttpPort == DicomPort);

        var script = Path.Combine(PeerInputs.RepoRoot, "scripts", "services.sh");
        var config = await PeerTool.RunAsync("bash", [script, "orthanc-config", Directory,
            DicomPort.ToString(CultureInfo.InvariantCulture), HttpPort.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(30));
        if (config.ExitCode != 0) throw new InvalidOperationException(config.ToString());
        using (JsonDocument.Parse(config.StdOut)) { } // fail here, not in Orthanc, on a broken configuration
        var configPath = Path.Combine(Directory, "orthanc.json");
        await File.WriteAllTextAsync(configPath, config.StdOut);

        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add(configPath);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("Orthanc did not start");
        _process.StandardInput.Close();
        var log = new StreamWriter(LogPath, append: false, Encoding.UTF8) { AutoFlush = true };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.Exited += (_, _) => { lock (log) log.Dispose(); };
        _process.EnableRaisingEvents = true;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(30) };
        var sw = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"Orthanc exited with {_process.ExitCode}\n{Log}");
            try
            {
                using var rsp = await Http.GetAsync("system");
                if (rsp.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) { /* not listening yet */ }
            catch (TaskCanceledException) { /* not answering yet */ }
            if (sw.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"Orthanc did not answer GET /system within 30 s\n{Log}");
            await Task.Delay(100);
        }
    }

    public async Task<JsonElement> GetJson(string path)
    {
        using var rsp = await Http.GetAsync(path);
        var text = await rsp.Content.ReadAsStringAsync();
        if (!rsp.IsSuccessStatusCode) throw new HttpRequestException($"GET {path}: {(int)rsp.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task<JsonElement> SendJson(HttpMethod method, string path, HttpContent content)
    {
        using var rq = new HttpRequestMessage(method, path) { Content = content };
        using var rsp = await Http.SendAsync(rq);
        var text = await rsp.Content.ReadAsStringAsync();
        if (!rsp.IsSuccessStatusCode) throw new HttpRequestException($"{method} {path}: {(int)rsp.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_process is { } p)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await p.WaitForExitAsync(cts.Token);
                }
            }
            catch (InvalidOperationException) { /* already gone */ }
            p.Dispose();
            _process = null;
        }
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class OrthancCollection : ICollectionFixture<OrthancFixture>
{
    public const string Name = "Orthanc";
}
