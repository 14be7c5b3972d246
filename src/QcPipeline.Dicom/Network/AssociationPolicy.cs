using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace QcPipeline.Dicom.Network;

/// <summary>What is known about an association request when the acceptor decides on it.</summary>
public sealed record AssociationRequestContext(
    AssociateRequest Request,
    IPAddress? RemoteAddress,
    X509Certificate2? ClientCertificate);

/// <summary>The policy's answer. <see cref="Accept"/> false sends an A-ASSOCIATE-RJ with the given fields.
/// <see cref="UserName"/> is the authenticated user, when user identity negotiation was used.</summary>
public sealed record AssociationDecision(bool Accept, RejectResult Result = RejectResult.Permanent, RejectSource Source = RejectSource.ServiceUser,
    byte Reason = 1, string? Problem = null, string? UserName = null)
{
    public static AssociationDecision Allow(string? userName = null) => new(true, UserName: userName);

    public static AssociationDecision Reject(byte reason, string problem) => new(false, Reason: reason, Problem: problem);
}

/// <summary>Decides whether an association may be established (after the called AE title matched ours).</summary>
public interface IAssociationPolicy
{
    AssociationDecision Evaluate(AssociationRequestContext context);
}

/// <summary>Accepts every calling AE title.</summary>
public sealed class AllowAnyPolicy : IAssociationPolicy
{
    public static AllowAnyPolicy Instance { get; } = new();

    public AssociationDecision Evaluate(AssociationRequestContext context) => AssociationDecision.Allow();
}

/// <summary>A device allowed to associate: its calling AE title, optionally bound to host addresses.</summary>
public sealed record AllowedDevice(string AeTitle, IReadOnlyList<IPAddress>? Hosts = null);

/// <summary>A user for user identity negotiation (PS3.7 §D.3.3.7, type 2 username and passcode). The passcode
/// is kept as a SHA-256 hash.</summary>
public sealed record DicomUser(string Name, string PasscodeSha256Hex)
{
    public static DicomUser FromPlain(string name, string passcode) =>
        new(name, Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(passcode))));
}

/// <summary>Calling AE titles allowed per device, optionally bound to host addresses; optionally users.
/// An empty device list allows every calling AE title. With <see cref="RequireUserIdentity"/>, an association
/// without a valid username/passcode (identity type 1 or 2) is rejected.</summary>
public sealed class DeviceAllowListPolicy(IReadOnlyList<AllowedDevice> devices, IReadOnlyList<DicomUser>? users = null, bool requireUserIdentity = false) : IAssociationPolicy
{
    public bool RequireUserIdentity { get; } = requireUserIdentity;

    public AssociationDecision Evaluate(AssociationRequestContext context)
    {
        var rq = context.Request;
        if (devices.Count > 0)
        {
            var matches = devices.Where(d => string.Equals(d.AeTitle.Trim(' '), rq.CallingAeTitle, StringComparison.Ordinal)).ToList();
            if (matches.Count == 0)
                return AssociationDecision.Reject(AssociateReject.CallingAeTitleNotRecognized, "calling AE title not allowed");
            bool hostOk = matches.Any(d => d.Hosts is null || d.Hosts.Count == 0
                || context.RemoteAddress is { } ip && d.Hosts.Any(h => Normalize(h).Equals(Normalize(ip))));
            if (!hostOk)
                return AssociationDecision.Reject(AssociateReject.CallingAeTitleNotRecognized, "calling AE title not allowed from this host");
        }

        string? user = null;
        if (rq.UserInformation.UserIdentity is { } id)
        {
            user = Authenticate(id);
            if (user is null && (RequireUserIdentity || users is { Count: > 0 }))
                return AssociationDecision.Reject(1, "user identity not accepted");
        }
        else if (RequireUserIdentity)
        {
            return AssociationDecision.Reject(1, "user identity required");
        }
        return AssociationDecision.Allow(user);
    }

    private string? Authenticate(UserIdentityRequest id)
    {
        if (users is null || users.Count == 0 || id.IdentityType is not (1 or 2)) return null;
        var name = Encoding.UTF8.GetString(id.PrimaryField.Span);
        var user = users.FirstOrDefault(u => string.Equals(u.Name, name, StringComparison.Ordinal));
        if (user is null) return null;
        if (id.IdentityType == 1) return null; // username without passcode never authenticates when users are configured
        var given = SHA256.HashData(id.SecondaryField.Span);
        byte[] expected;
        try { expected = Convert.FromHexString(user.PasscodeSha256Hex); } catch (FormatException) { return null; }
        return CryptographicOperations.FixedTimeEquals(given, expected) ? user.Name : null;
    }

    private static IPAddress Normalize(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;
}
