namespace QcPipeline.Dicom.Network;

/// <summary>A-ABORT reasons from the DICOM UL service provider (PS3.8 §9.3.8, "Reason/Diag." when the
/// source is the service provider).</summary>
public enum AbortReason : byte
{
    NotSpecified = 0,
    UnrecognizedPdu = 1,
    UnexpectedPdu = 2,
    UnrecognizedPduParameter = 4,
    UnexpectedPduParameter = 5,
    InvalidPduParameterValue = 6,
}

/// <summary>A malformed or unacceptable upper-layer PDU. <see cref="Reason"/> is the A-ABORT reason to send
/// back to the peer; the message names the PDU type, the item and the byte offset within the PDU.</summary>
public sealed class DicomNetworkException : Exception
{
    public DicomNetworkException(string message) : base(message) { }
    public DicomNetworkException(string message, Exception inner) : base(message, inner) { }

    public DicomNetworkException(AbortReason reason, PduType? pduType, string item, long offset, string problem)
        : base($"{problem} (PDU {(pduType is { } t ? $"{t} 0x{(byte)t:X2}" : "?")}, {item}, offset {offset})")
    {
        Reason = reason;
        PduType = pduType;
        Item = item;
        Offset = offset;
    }

    public AbortReason Reason { get; } = AbortReason.NotSpecified;

    /// <summary>The peer closed the connection in the middle of a PDU: there is nobody left to send an A-ABORT to.</summary>
    public bool ConnectionClosed { get; init; }
    public PduType? PduType { get; }
    public string Item { get; } = "";
    public long Offset { get; } = -1;
}
