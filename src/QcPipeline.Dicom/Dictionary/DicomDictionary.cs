// TEMPORARY stand-in while the generated dictionary is being written; replaced on merge.
namespace QcPipeline.Dicom;

public static class DicomDictionary
{
    public static DicomVR GetDefaultVR(DicomTag tag) => tag.Value switch
    {
        0x00080005 or 0x00080016 or 0x00080018 or 0x00080060 => tag.Value == 0x00080005 || tag.Value == 0x00080060 ? DicomVR.CS : DicomVR.UI,
        0x00100010 => DicomVR.PN,
        0x00280010 or 0x00280011 or 0x00280100 or 0x00280101 or 0x00280102 or 0x00280103 or 0x00280002 => DicomVR.US,
        0x7FE00010 => DicomVR.OW,
        _ => tag.IsPrivateCreator ? DicomVR.LO : tag.IsGroupLength ? DicomVR.UL : DicomVR.UN,
    };
}
