namespace QcPipeline.Dicom.Network;

/// <summary>PDU types of the DICOM upper layer (PS3.8 §9.3).</summary>
public enum PduType : byte
{
    AssociateRequest = 0x01,
    AssociateAccept = 0x02,
    AssociateReject = 0x03,
    PDataTransfer = 0x04,
    ReleaseRequest = 0x05,
    ReleaseResponse = 0x06,
    Abort = 0x07,
}

/// <summary>Base of every upper-layer PDU.</summary>
public abstract record Pdu
{
    public abstract PduType Type { get; }
}

/// <summary>Presentation context item of an A-ASSOCIATE-RQ (item 0x20).</summary>
public sealed record PresentationContextRequest(byte Id, string AbstractSyntax, IReadOnlyList<string> TransferSyntaxes);

/// <summary>Result/reason of a presentation context item in an A-ASSOCIATE-AC (PS3.8 §9.3.3.2).</summary>
public enum PresentationContextResult : byte
{
    Acceptance = 0,
    UserRejection = 1,
    NoReason = 2,
    AbstractSyntaxNotSupported = 3,
    TransferSyntaxesNotSupported = 4,
}

/// <summary>Presentation context item of an A-ASSOCIATE-AC (item 0x21). The transfer syntax is
/// meaningful only when the result is acceptance (it may be empty otherwise).</summary>
public sealed record PresentationContextAccept(byte Id, PresentationContextResult Result, string TransferSyntax);

/// <summary>SCP/SCU role selection sub-item (0x54, PS3.7 Annex D.3.3.4).</summary>
public sealed record RoleSelection(string SopClassUid, bool ScuRole, bool ScpRole);

/// <summary>Asynchronous operations window sub-item (0x53, PS3.7 Annex D.3.3.3).</summary>
public sealed record AsyncOperationsWindow(ushort MaxOperationsInvoked, ushort MaxOperationsPerformed);

/// <summary>User identity negotiation request sub-item (0x58, PS3.7 Annex D.3.3.7.1).</summary>
public sealed record UserIdentityRequest(byte IdentityType, bool PositiveResponseRequested, ReadOnlyMemory<byte> PrimaryField, ReadOnlyMemory<byte> SecondaryField);

/// <summary>A user information sub-item this codec does not interpret; preserved byte for byte.</summary>
public sealed record UnknownSubItem(byte ItemType, ReadOnlyMemory<byte> Value);

/// <summary>User information item (0x50). <see cref="UserIdentityResponse"/> (0x59) is used in an AC only,
/// <see cref="UserIdentity"/> (0x58) in an RQ only.</summary>
public sealed record UserInformation
{
    /// <summary>Maximum length received (0x51); 0 means unlimited.</summary>
    public uint MaxPduLength { get; init; }
    public string? ImplementationClassUid { get; init; }
    public string? ImplementationVersionName { get; init; }
    public AsyncOperationsWindow? AsyncOperationsWindow { get; init; }
    public IReadOnlyList<RoleSelection> RoleSelections { get; init; } = [];
    public UserIdentityRequest? UserIdentity { get; init; }
    public ReadOnlyMemory<byte>? UserIdentityResponse { get; init; }
    public IReadOnlyList<UnknownSubItem> UnknownSubItems { get; init; } = [];
}

/// <summary>A-ASSOCIATE-RQ (PS3.8 §9.3.2).</summary>
public sealed record AssociateRequest(
    string CallingAeTitle,
    string CalledAeTitle,
    IReadOnlyList<PresentationContextRequest> PresentationContexts,
    UserInformation UserInformation) : Pdu
{
    public const string DicomApplicationContext = "1.2.840.10008.3.1.1.1";
    public override PduType Type => PduType.AssociateRequest;
    public ushort ProtocolVersion { get; init; } = 1;
    public string ApplicationContextName { get; init; } = DicomApplicationContext;
}

/// <summary>A-ASSOCIATE-AC (PS3.8 §9.3.3). The AE title fields are reserved: sent as received in the RQ,
/// not validated on receipt.</summary>
public sealed record AssociateAccept(
    string CallingAeTitle,
    string CalledAeTitle,
    IReadOnlyList<PresentationContextAccept> PresentationContexts,
    UserInformation UserInformation) : Pdu
{
    public override PduType Type => PduType.AssociateAccept;
    public ushort ProtocolVersion { get; init; } = 1;
    public string ApplicationContextName { get; init; } = AssociateRequest.DicomApplicationContext;
}

public enum RejectResult : byte { Permanent = 1, Transient = 2 }

public enum RejectSource : byte
{
    ServiceUser = 1,
    ServiceProviderAcse = 2,
    ServiceProviderPresentation = 3,
}

/// <summary>A-ASSOCIATE-RJ (PS3.8 §9.3.4). <see cref="Reason"/> depends on the source: for the service user
/// 1 = no reason, 2 = application context name not supported, 3 = calling AE title not recognized,
/// 7 = called AE title not recognized; for the ACSE provider 1 = no reason, 2 = protocol version not
/// supported; for the presentation provider 1 = temporary congestion, 2 = local limit exceeded.</summary>
public sealed record AssociateReject(RejectResult Result, RejectSource Source, byte Reason) : Pdu
{
    public const byte CalledAeTitleNotRecognized = 7;
    public const byte CallingAeTitleNotRecognized = 3;
    public override PduType Type => PduType.AssociateReject;
}

/// <summary>One presentation data value: message control header bit 0 = command, bit 1 = last fragment.</summary>
public sealed record Pdv(byte PresentationContextId, bool IsCommand, bool IsLast, ReadOnlyMemory<byte> Data)
{
    /// <summary>PDV item length (4) + presentation context id (1) + message control header (1).</summary>
    public const int HeaderLength = 6;
}

/// <summary>P-DATA-TF (PS3.8 §9.3.5).</summary>
public sealed record PDataTransfer(IReadOnlyList<Pdv> Pdvs) : Pdu
{
    public override PduType Type => PduType.PDataTransfer;
}

/// <summary>A-RELEASE-RQ (PS3.8 §9.3.6).</summary>
public sealed record ReleaseRequest : Pdu
{
    public override PduType Type => PduType.ReleaseRequest;
}

/// <summary>A-RELEASE-RP (PS3.8 §9.3.7).</summary>
public sealed record ReleaseResponse : Pdu
{
    public override PduType Type => PduType.ReleaseResponse;
}

public enum AbortSource : byte { ServiceUser = 0, ServiceProvider = 2 }

/// <summary>A-ABORT (PS3.8 §9.3.8). <see cref="Reason"/> is significant only for the service provider.</summary>
public sealed record Abort(AbortSource Source, AbortReason Reason) : Pdu
{
    public override PduType Type => PduType.Abort;
}
