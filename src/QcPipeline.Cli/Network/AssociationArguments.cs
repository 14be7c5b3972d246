using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Cli.Network;

/// <summary>The HOST PORT arguments and the association options shared by <c>qc echo</c> and <c>qc send</c>: AE titles,
/// timeout, TLS (PS3.15 Annex B.1) and user identity (PS3.7 §D.3.3.7).</summary>
public sealed class AssociationArguments
{
    public Argument<string> Host { get; } = new("HOST") { Description = "The peer's host name or address" };
    public Argument<int> Port { get; } = new("PORT") { Description = "The peer's TCP port" };
    public Option<string> CalledAe { get; } = new("--aec") { HelpName = "AE", Description = "Called AE title (the peer's)", DefaultValueFactory = _ => "QCPIPE" };
    public Option<string> CallingAe { get; } = new("--aet") { HelpName = "AE", Description = "Calling AE title (ours)", DefaultValueFactory = _ => "QCSCU" };
    public Option<double> Timeout { get; } = new("--timeout")
    {
        HelpName = "S",
        Description = "Seconds to wait for the connection, the association answer and each response",
        DefaultValueFactory = _ => 30,
    };
    public Option<bool> Tls { get; } = new("--tls") { Description = "Use TLS (implied by the other --tls-* options)" };
    public Option<string?> TlsCa { get; } = new("--tls-ca") { HelpName = "FILE", Description = "PEM file of the CA certificate(s) to trust instead of the system's" };
    public Option<string?> TlsCert { get; } = new("--tls-cert") { HelpName = "FILE", Description = "PEM file of our client certificate (with --tls-key)" };
    public Option<string?> TlsKey { get; } = new("--tls-key") { HelpName = "FILE", Description = "PEM file of the client certificate's private key" };
    public Option<bool> TlsInsecure { get; } = new("--tls-insecure") { Description = "Do not verify the peer's certificate (tests only)" };
    public Option<string?> User { get; } = new("--user") { HelpName = "NAME", Description = "User identity: user name (type 1, or type 2 with --password)" };
    public Option<string?> Password { get; } = new("--password") { HelpName = "PW", Description = "User identity: passcode for --user" };

    public void AddTo(Command command)
    {
        Host.Validators.Add(r => { if (r.Tokens.Count == 1 && r.Tokens[0].Value.StartsWith('-')) r.AddError($"Unrecognized option '{r.Tokens[0].Value}'."); });
        Port.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && int.TryParse(r.Tokens[0].Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) && p is < 1 or > 65535)
                r.AddError("PORT must be 1..65535");
        });
        foreach (var ae in new[] { CalledAe, CallingAe })
        {
            var option = ae;
            option.Validators.Add(r =>
            {
                if (r.Tokens.Count == 1 && AeTitle.Validate(r.Tokens[0].Value.Trim(' ')) is { } why) r.AddError($"{option.Name}: {why}");
            });
        }
        Timeout.Validators.Add(r =>
        {
            if (r.Tokens.Count == 1 && double.TryParse(r.Tokens[0].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && !(s > 0 && s <= 86400))
                r.AddError("--timeout must be more than 0 and at most 86400 seconds");
        });
        command.Add(Host);
        command.Add(Port);
        command.Add(CalledAe);
        command.Add(CallingAe);
        command.Add(Timeout);
        command.Add(Tls);
        command.Add(TlsCa);
        command.Add(TlsCert);
        command.Add(TlsKey);
        command.Add(TlsInsecure);
        command.Add(User);
        command.Add(Password);
        command.Validators.Add(r =>
        {
            if (r.GetResult(Password) is not null && r.GetResult(User) is null) r.AddError("--password needs --user");
            if ((r.GetResult(TlsCert) is null) != (r.GetResult(TlsKey) is null)) r.AddError("--tls-cert and --tls-key go together");
            if (r.GetResult(TlsInsecure) is not null && r.GetResult(TlsCa) is not null) r.AddError("--tls-insecure and --tls-ca cannot be used together");
        });
    }

    /// <summary>The peer named on the command line.</summary>
    public (string Host, int Port) Peer(ParseResult r) => (r.GetRequiredValue(Host), r.GetRequiredValue(Port));

    /// <summary>Builds the client options; reports an unusable TLS file (<c>qc: FILE: message</c>) and returns null.</summary>
    public DicomClientOptions? Build(ParseResult r, CliConsole console)
    {
        var timeout = TimeSpan.FromSeconds(r.GetValue(Timeout));
        var options = new DicomClientOptions
        {
            CalledAeTitle = r.GetRequiredValue(CalledAe).Trim(' '),
            CallingAeTitle = r.GetRequiredValue(CallingAe).Trim(' '),
            ConnectTimeout = timeout,
            ArtimTimeout = timeout,
            DimseTimeout = timeout,
            UserIdentity = r.GetValue(User) is { } user ? Identity(user, r.GetValue(Password)) : null,
        };
        string? ca = r.GetValue(TlsCa), cert = r.GetValue(TlsCert), key = r.GetValue(TlsKey);
        bool insecure = r.GetValue(TlsInsecure);
        if (!r.GetValue(Tls) && ca is null && cert is null && !insecure) return options;

        var tls = new SslClientAuthenticationOptions
        {
            TargetHost = r.GetRequiredValue(Host),
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        };
        string current = "";
        try
        {
            if (ca is not null)
            {
                current = ca;
                var roots = new X509Certificate2Collection();
                roots.ImportFromPemFile(ca);
                if (roots.Count == 0) throw new CryptographicException("no certificate in the file");
                // Trust exactly these roots (not the system store); host name checking stays on.
                tls.CertificateChainPolicy = new X509ChainPolicy
                {
                    TrustMode = X509ChainTrustMode.CustomRootTrust,
                    RevocationMode = X509RevocationMode.NoCheck,
                };
                tls.CertificateChainPolicy.CustomTrustStore.AddRange(roots);
            }
            if (cert is not null && key is not null)
            {
                current = cert;
                var client = X509Certificate2.CreateFromPemFile(cert, key);
                tls.ClientCertificates = [client];
            }
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            console.Fail(current, ex is FileNotFoundException or DirectoryNotFoundException ? "no such file" : $"not a usable PEM file: {ex.Message}");
            return null;
        }
#pragma warning disable CA5359 // --tls-insecure asks for exactly this: a test peer with a throwaway certificate
        if (insecure) tls.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
#pragma warning restore CA5359
        return options with { Tls = tls };
    }

    /// <summary>PS3.7 §D.3.3.7.1: type 1 is a user name, type 2 a user name and passcode; both UTF-8.</summary>
    private static UserIdentityRequest Identity(string user, string? password) => password is null
        ? new UserIdentityRequest(1, PositiveResponseRequested: false, Encoding.UTF8.GetBytes(user), ReadOnlyMemory<byte>.Empty)
        : new UserIdentityRequest(2, PositiveResponseRequested: false, Encoding.UTF8.GetBytes(user), Encoding.UTF8.GetBytes(password));

    /// <summary>One line for a failure to associate or a lost association, without a stack trace; null for an exception
    /// that is not a network failure (a bug: it propagates).</summary>
    public static string? Describe(Exception ex, string host, int port) => ex switch
    {
        DicomAssociationRejectedException rj => $"association rejected: {DicomAssociationRejectedException.Describe(rj.Reject)} "
            + $"({(rj.Reject.Result == RejectResult.Permanent ? "permanent" : "transient")}, source {SourceName(rj.Reject.Source)}, reason {rj.Reject.Reason})",
        DicomAssociationAbortedException ab => ab.Message,
        TimeoutException t => "timeout: " + t.Message,
        SocketException s => $"cannot connect to {host}:{port}: {SocketProblem(s)}",
        AuthenticationException a => $"TLS handshake with {host}:{port} failed: {Innermost(a)}",
        IOException io when io.InnerException is SocketException s => $"connection to {host}:{port} lost: {SocketProblem(s)}",
        IOException io => $"connection to {host}:{port} lost: {io.Message}",
        ObjectDisposedException => $"connection to {host}:{port} lost",
        _ => null,
    };

    private static string SourceName(RejectSource source) => source switch
    {
        RejectSource.ServiceUser => "service user",
        RejectSource.ServiceProviderAcse => "service provider (ACSE)",
        RejectSource.ServiceProviderPresentation => "service provider (presentation)",
        _ => ((byte)source).ToString(CultureInfo.InvariantCulture),
    };

    private static string SocketProblem(SocketException s) => s.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.ConnectionReset => "connection reset by the peer",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "unreachable",
        _ => s.Message,
    };

    private static string Innermost(Exception ex)
    {
        var messages = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException) messages.Add(e.Message.TrimEnd('.'));
        return string.Join(": ", messages.Distinct());
    }
}
