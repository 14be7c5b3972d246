namespace QcPipeline.Dicom.Network;

/// <summary>DIMSE status codes used here (PS3.7 Annex C, and PS3.4 §B.2.3 for the Storage Service Class).</summary>
public static class DicomStatus
{
    public const ushort Success = 0x0000;
    /// <summary>Warning: coercion of data elements (PS3.4 §B.2.3).</summary>
    public const ushort CoercionOfDataElements = 0xB000;
    /// <summary>Warning: data set does not match SOP class (PS3.4 §B.2.3).</summary>
    public const ushort DataSetDoesNotMatchSopClassWarning = 0xB007;
    /// <summary>Warning: elements discarded (PS3.4 §B.2.3).</summary>
    public const ushort ElementsDiscarded = 0xB006;
    /// <summary>Refused: out of resources (PS3.4 §B.2.3) — a full disk or any storage failure.</summary>
    public const ushort OutOfResources = 0xA700;
    /// <summary>Error: data set does not match SOP class (PS3.4 §B.2.3).</summary>
    public const ushort DataSetDoesNotMatchSopClass = 0xA900;
    /// <summary>Error: cannot understand (PS3.4 §B.2.3; 0xC000–0xCFFF).</summary>
    public const ushort CannotUnderstand = 0xC000;
    /// <summary>Failure: invalid SOP instance (PS3.7 §C.5.8).</summary>
    public const ushort InvalidSopInstance = 0x0117;
    /// <summary>Failure: processing failure (PS3.7 §C.5.2).</summary>
    public const ushort ProcessingFailure = 0x0110;
    /// <summary>Failure: refused, SOP class not supported (PS3.7 §C.5.11).</summary>
    public const ushort SopClassNotSupported = 0x0122;
    /// <summary>C-FIND: a match follows (PS3.4 §C.4.1.1.4, Table K.4-2).</summary>
    public const ushort Pending = 0xFF00;
    /// <summary>C-FIND: a match follows; one or more optional keys were not supported for matching or existence.</summary>
    public const ushort PendingOptionalKeysUnsupported = 0xFF01;
    /// <summary>Cancel: matching terminated due to a C-CANCEL (PS3.7 §C.5.12).</summary>
    public const ushort Cancel = 0xFE00;
    /// <summary>C-FIND failure: unable to process (PS3.4 Table K.4-2; 0xC000–0xCFFF).</summary>
    public const ushort UnableToProcess = 0xC000;
    /// <summary>C-FIND failure: identifier does not match SOP class (PS3.4 Table K.4-2).</summary>
    public const ushort IdentifierDoesNotMatchSopClass = 0xA900;
    /// <summary>Failure: unrecognized operation (PS3.7 §C.5.21).</summary>
    public const ushort UnrecognizedOperation = 0x0211;

    /// <summary>Bounded category of a status, suitable as a metric label.</summary>
    public static string Category(ushort status) => status switch
    {
        Success => "success",
        >= 0xB000 and <= 0xBFFF or 0x0107 or 0x0116 => "warning",
        0xFE00 => "cancel",
        0xFF00 or 0xFF01 => "pending",
        _ => "failure",
    };

    /// <summary>Short description for logs and tools.</summary>
    public static string Describe(ushort status) => status switch
    {
        Success => "Success",
        CoercionOfDataElements => "Warning: coercion of data elements",
        DataSetDoesNotMatchSopClassWarning => "Warning: data set does not match SOP class",
        ElementsDiscarded => "Warning: elements discarded",
        >= 0xA700 and <= 0xA7FF => "Refused: out of resources",
        >= 0xA900 and <= 0xA9FF => "Error: data set does not match SOP class",
        >= 0xC000 and <= 0xCFFF => "Error: cannot understand",
        InvalidSopInstance => "Failure: invalid SOP instance",
        ProcessingFailure => "Failure: processing failure",
        SopClassNotSupported => "Refused: SOP class not supported",
        UnrecognizedOperation => "Failure: unrecognized operation",
        0x0111 => "Failure: duplicate SOP instance",
        0x0124 => "Refused: not authorized",
        0xFE00 => "Cancel",
        Pending => "Pending",
        PendingOptionalKeysUnsupported => "Pending: optional keys not supported",
        _ => Category(status) switch { "warning" => "Warning", "failure" => "Failure", var c => c },
    } + $" (0x{status:X4})";
}
