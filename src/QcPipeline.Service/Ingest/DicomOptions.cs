using System.Net;
using Microsoft.Extensions.Options;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Service.Ingest;

/// <summary>The DIMSE listener (configuration section <c>Dicom</c>). Lists default to empty because the configuration
/// binder appends to a non-empty default instead of replacing it; empty means "the built-in default".</summary>
public sealed record DicomOptions
{
    public const string Section = "Dicom";

    /// <summary>TCP port; 0 picks a free port (logged and exposed by <see cref="DimseListenerState"/>).</summary>
    public int Port { get; init; } = 11112;
    public string BindAddress { get; init; } = "0.0.0.0";
    public string AeTitle { get; init; } = "QCPIPE";
    public int MaxAssociations { get; init; } = 32;
    public int MaxPduLength { get; init; } = 256 * 1024;
    public int ArtimTimeoutSeconds { get; init; } = 10;
    /// <summary>0 disables the idle timeout.</summary>
    public int IdleTimeoutSeconds { get; init; } = 30;
    public int MaxOperationsPerformed { get; init; } = 8;
    /// <summary>Accepted transfer syntaxes, most preferred first; empty = <see cref="DicomServerOptions.DefaultTransferSyntaxes"/>.</summary>
    public string[] TransferSyntaxes { get; init; } = [];
    /// <summary>Empty = any calling AE title.</summary>
    public AllowedDeviceOptions[] AllowedDevices { get; init; } = [];
    public DicomUserOptions[] Users { get; init; } = [];
    public bool RequireUserIdentity { get; init; }
    public DicomTlsOptions Tls { get; init; } = new();

    public IReadOnlyList<string> EffectiveTransferSyntaxes => TransferSyntaxes.Length == 0 ? DicomServerOptions.DefaultTransferSyntaxes : TransferSyntaxes;
}

public sealed record AllowedDeviceOptions
{
    public string AeTitle { get; init; } = "";
    /// <summary>IP addresses the device may connect from; empty = any.</summary>
    public string[] Hosts { get; init; } = [];
}

/// <summary>A user for user identity negotiation; the passcode is given as its SHA-256 hash (hex).</summary>
public sealed record DicomUserOptions
{
    public string Name { get; init; } = "";
    public string PasscodeSha256 { get; init; } = "";
}

/// <summary>DICOM TLS (PS3.15 Annex B.1). The server certificate is a PEM pair (<see cref="CertificatePath"/> +
/// <see cref="KeyPath"/>) or a PKCS#12 file (<see cref="CertificatePath"/> ending .pfx/.p12, with <see cref="Password"/>).</summary>
public sealed record DicomTlsOptions
{
    public bool Enabled { get; init; }
    public string? CertificatePath { get; init; }
    public string? KeyPath { get; init; }
    public string? Password { get; init; }
    public bool RequireClientCertificate { get; init; }
    /// <summary>PEM file of the CA certificates that client certificates must chain to.</summary>
    public string? ClientCaPath { get; init; }
}

/// <summary>Checks <see cref="DicomOptions"/> at start; every message names its configuration key.</summary>
internal sealed class DicomOptionsValidator : IValidateOptions<DicomOptions>
{
    public ValidateOptionsResult Validate(string? name, DicomOptions o)
    {
        var errors = new List<string>();
        const string s = DicomOptions.Section;
        if (o.Port is < 0 or > 65535) errors.Add($"{s}:Port must be 0-65535 (0 picks a free port), not {o.Port}");
        if (!IPAddress.TryParse(o.BindAddress, out _)) errors.Add($"{s}:BindAddress '{o.BindAddress}' is not an IP address");
        if (Dicom.Network.AeTitle.Validate(o.AeTitle.Trim(' ')) is { } why) errors.Add($"{s}:AeTitle is invalid: {why}");
        if (o.MaxAssociations is < 1 or > 10_000) errors.Add($"{s}:MaxAssociations must be 1-10000, not {o.MaxAssociations}");
        // PS3.8 §9.3.1: a maximum length of at least the PDU header; we need room for a command and a fragment.
        if (o.MaxPduLength is < 4096 or > 64 * 1024 * 1024) errors.Add($"{s}:MaxPduLength must be 4096-67108864, not {o.MaxPduLength}");
        if (o.ArtimTimeoutSeconds is < 1 or > 3600) errors.Add($"{s}:ArtimTimeoutSeconds must be 1-3600, not {o.ArtimTimeoutSeconds}");
        if (o.IdleTimeoutSeconds is < 0 or > 86_400) errors.Add($"{s}:IdleTimeoutSeconds must be 0-86400 (0 = none), not {o.IdleTimeoutSeconds}");
        if (o.MaxOperationsPerformed is < 1 or > ushort.MaxValue) errors.Add($"{s}:MaxOperationsPerformed must be 1-65535, not {o.MaxOperationsPerformed}");
        for (int i = 0; i < o.TransferSyntaxes.Length; i++)
        {
            if (!TransferSyntax.TryLookupKnown(o.TransferSyntaxes[i], out _))
                errors.Add($"{s}:TransferSyntaxes:{i} '{o.TransferSyntaxes[i]}' is not a known transfer syntax UID");
        }
        for (int i = 0; i < o.AllowedDevices.Length; i++)
        {
            var d = o.AllowedDevices[i];
            if (Dicom.Network.AeTitle.Validate(d.AeTitle.Trim(' ')) is { } w) errors.Add($"{s}:AllowedDevices:{i}:AeTitle is invalid: {w}");
            for (int h = 0; h < d.Hosts.Length; h++)
                if (!IPAddress.TryParse(d.Hosts[h], out _)) errors.Add($"{s}:AllowedDevices:{i}:Hosts:{h} '{d.Hosts[h]}' is not an IP address");
        }
        for (int i = 0; i < o.Users.Length; i++)
        {
            var u = o.Users[i];
            if (string.IsNullOrEmpty(u.Name)) errors.Add($"{s}:Users:{i}:Name is empty");
            if (u.PasscodeSha256.Length != 64 || !u.PasscodeSha256.All(Uri.IsHexDigit))
                errors.Add($"{s}:Users:{i}:PasscodeSha256 must be 64 hex digits (SHA-256 of the passcode)");
        }
        if (o.RequireUserIdentity && o.Users.Length == 0) errors.Add($"{s}:RequireUserIdentity is true but {s}:Users is empty");
        if (o.Tls.Enabled)
        {
            if (string.IsNullOrEmpty(o.Tls.CertificatePath)) errors.Add($"{s}:Tls:CertificatePath is required when {s}:Tls:Enabled is true");
            else if (!File.Exists(o.Tls.CertificatePath)) errors.Add($"{s}:Tls:CertificatePath '{o.Tls.CertificatePath}' does not exist");
            if (!string.IsNullOrEmpty(o.Tls.KeyPath) && !File.Exists(o.Tls.KeyPath)) errors.Add($"{s}:Tls:KeyPath '{o.Tls.KeyPath}' does not exist");
            if (!string.IsNullOrEmpty(o.Tls.ClientCaPath) && !File.Exists(o.Tls.ClientCaPath)) errors.Add($"{s}:Tls:ClientCaPath '{o.Tls.ClientCaPath}' does not exist");
            if (o.Tls.RequireClientCertificate && string.IsNullOrEmpty(o.Tls.ClientCaPath)) errors.Add($"{s}:Tls:ClientCaPath is required when {s}:Tls:RequireClientCertificate is true");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
