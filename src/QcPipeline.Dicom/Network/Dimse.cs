using QcPipeline.Dicom.IO;

namespace QcPipeline.Dicom.Network;

/// <summary>DIMSE command fields (PS3.7 §9.3 and §10.3, Table E.1-1).</summary>
public static class CommandField
{
    public const ushort CStoreRq = 0x0001;
    public const ushort CStoreRsp = 0x8001;
    public const ushort CGetRq = 0x0010;
    public const ushort CFindRq = 0x0020;
    public const ushort CFindRsp = 0x8020;
    public const ushort CMoveRq = 0x0021;
    public const ushort CEchoRq = 0x0030;
    public const ushort CEchoRsp = 0x8030;
    public const ushort CCancelRq = 0x0FFF;
    public const ushort ResponseBit = 0x8000;
}

/// <summary>Builds and parses DIMSE command sets. Command sets are always Implicit VR Little Endian and carry
/// their group length (PS3.7 §6.3.1).</summary>
public static class DimseCommand
{
    /// <summary>(0000,0800) Command Data Set Type value meaning "no data set" (PS3.7 §E.1).</summary>
    public const ushort NoDataSet = 0x0101;
    /// <summary>Any other value means a data set follows; this is the one we send.</summary>
    public const ushort DataSetPresent = 0x0000;
    /// <summary>Largest command set accepted; real ones are a few hundred bytes.</summary>
    public const int MaxCommandLength = 64 * 1024;

    /// <summary>Parses a command set with the toolkit's dataset parser; only group 0000 may appear.</summary>
    public static DicomDataset Parse(ReadOnlySpan<byte> data)
    {
        var bytes = data.ToArray();
        var ds = new DicomDataset();
        try
        {
            new DatasetParser(bytes, bytes.Length, partial: false, DicomReadOptions.Default).ParseTopLevel(ds, 0, explicitVR: false, littleEndian: true);
        }
        catch (DicomFormatException ex)
        {
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", (int)ex.Offset, ex.Message);
        }
        if (ds.FirstOrDefault(i => i.Tag.Group != 0x0000) is { } stray)
            throw new DicomNetworkException(AbortReason.InvalidPduParameterValue, PduType.PDataTransfer, "command", 0, $"element {stray.Tag} outside the command group");
        return ds;
    }

    /// <summary>Serialises a command set, adding (0000,0000) Command Group Length.</summary>
    public static byte[] Serialize(DicomDataset command)
    {
        command.Remove(DicomTags.CommandGroupLength);
        using var body = new MemoryStream();
        DicomWriter.WriteDataset(body, command, TransferSyntax.ImplicitVRLittleEndian, DicomWriteOptions.Default);
        var all = new byte[12 + body.Length];
        // (0000,0000) UL, implicit VR: tag, 4-byte length 4, value.
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(0), 0x00000000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(4), 4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(all.AsSpan(8), checked((uint)body.Length));
        body.GetBuffer().AsSpan(0, (int)body.Length).CopyTo(all.AsSpan(12));
        return all;
    }

    /// <summary>A C-ECHO-RQ (PS3.7 §9.3.5.1).</summary>
    public static byte[] EchoRequest(ushort messageId)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.AffectedSOPClassUID, DicomVR.UI, DicomUids.Verification);
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, CommandField.CEchoRq);
        ds.AddOrUpdate(DicomTags.MessageID, DicomVR.US, messageId);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, NoDataSet);
        return Serialize(ds);
    }

    /// <summary>A C-STORE-RQ (PS3.7 §9.3.1.1).</summary>
    public static byte[] StoreRequest(ushort messageId, string sopClassUid, string sopInstanceUid, ushort priority = 0)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.AffectedSOPClassUID, DicomVR.UI, sopClassUid);
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, CommandField.CStoreRq);
        ds.AddOrUpdate(DicomTags.MessageID, DicomVR.US, messageId);
        ds.AddOrUpdate(DicomTags.Priority, DicomVR.US, priority);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, DataSetPresent);
        ds.AddOrUpdate(DicomTags.AffectedSOPInstanceUID, DicomVR.UI, sopInstanceUid);
        return Serialize(ds);
    }

    /// <summary>A C-FIND-RQ (PS3.7 §9.3.2.1); the identifier follows as a data set.</summary>
    public static byte[] FindRequest(ushort messageId, string sopClassUid, ushort priority = 0)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.AffectedSOPClassUID, DicomVR.UI, sopClassUid);
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, CommandField.CFindRq);
        ds.AddOrUpdate(DicomTags.MessageID, DicomVR.US, messageId);
        ds.AddOrUpdate(DicomTags.Priority, DicomVR.US, priority);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, DataSetPresent);
        return Serialize(ds);
    }

    /// <summary>A C-CANCEL-RQ (PS3.7 §9.3.2.3) for the operation with <paramref name="messageIdBeingRespondedTo"/>.</summary>
    public static byte[] CancelRequest(ushort messageIdBeingRespondedTo)
    {
        var ds = new DicomDataset();
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, CommandField.CCancelRq);
        ds.AddOrUpdate(DicomTags.MessageIDBeingRespondedTo, DicomVR.US, messageIdBeingRespondedTo);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, NoDataSet);
        return Serialize(ds);
    }

    /// <summary>A response to a request command (PS3.7 §9.3): command field with the response bit, the
    /// request's message id, no data set (unless <paramref name="dataSetFollows"/>: a C-FIND pending response carries its
    /// identifier), status, and the affected SOP class/instance when known. The error
    /// comment is cut to 64 characters (LO) and must carry no patient values.</summary>
    public static byte[] Response(ushort requestCommandField, ushort messageIdBeingRespondedTo, ushort status,
        string? affectedSopClassUid, string? affectedSopInstanceUid = null, string? errorComment = null, DicomTag? offendingElement = null,
        bool dataSetFollows = false)
    {
        var ds = new DicomDataset();
        if (!string.IsNullOrEmpty(affectedSopClassUid)) ds.AddOrUpdate(DicomTags.AffectedSOPClassUID, DicomVR.UI, affectedSopClassUid);
        ds.AddOrUpdate(DicomTags.CommandField, DicomVR.US, (ushort)(requestCommandField | CommandField.ResponseBit));
        ds.AddOrUpdate(DicomTags.MessageIDBeingRespondedTo, DicomVR.US, messageIdBeingRespondedTo);
        ds.AddOrUpdate(DicomTags.CommandDataSetType, DicomVR.US, dataSetFollows ? DataSetPresent : NoDataSet);
        ds.AddOrUpdate(DicomTags.Status, DicomVR.US, status);
        if (!string.IsNullOrEmpty(affectedSopInstanceUid)) ds.AddOrUpdate(DicomTags.AffectedSOPInstanceUID, DicomVR.UI, affectedSopInstanceUid);
        if (offendingElement is { } oe) ds.AddOrUpdate<ushort>(DicomTags.OffendingElement, DicomVR.AT, oe.Group, oe.Element);
        if (!string.IsNullOrEmpty(errorComment))
        {
            var clean = new string(errorComment.Select(c => c is < ' ' or > '~' or '\\' ? ' ' : c).ToArray());
            ds.AddOrUpdate(DicomTags.ErrorComment, DicomVR.LO, clean.Length > 64 ? clean[..64] : clean);
        }
        return Serialize(ds);
    }

    /// <summary>True when the command says a data set follows (PS3.7 §E.1: any value other than 0101H).</summary>
    public static bool HasDataSet(DicomDataset command) =>
        command.TryGetInt32(DicomTags.CommandDataSetType, out var t) && t != NoDataSet;

    /// <summary>Parses a data set (a C-FIND identifier) received in an uncompressed transfer syntax.</summary>
    /// <exception cref="DicomFormatException">the bytes are not a data set in that syntax</exception>
    public static DicomDataset ParseDataset(ReadOnlySpan<byte> data, string transferSyntaxUid)
    {
        var ts = TransferSyntax.Lookup(transferSyntaxUid);
        if (ts.IsDeflated || ts.IsEncapsulated) throw new DicomFormatException($"transfer syntax {transferSyntaxUid} is not used for identifiers");
        var bytes = data.ToArray();
        var ds = new DicomDataset();
        new DatasetParser(bytes, bytes.Length, partial: false, DicomReadOptions.Default).ParseTopLevel(ds, 0, ts.IsExplicitVR, ts.IsLittleEndian);
        return ds;
    }

    /// <summary>Serialises a data set (a C-FIND identifier) in an uncompressed transfer syntax.</summary>
    public static byte[] SerializeDataset(DicomDataset dataset, string transferSyntaxUid)
    {
        using var body = new MemoryStream();
        DicomWriter.WriteDataset(body, dataset, TransferSyntax.Lookup(transferSyntaxUid), DicomWriteOptions.Default);
        return body.ToArray();
    }
}
