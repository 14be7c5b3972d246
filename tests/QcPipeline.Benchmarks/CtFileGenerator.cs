using System.Globalization;
using QcPipeline.Dicom;
using QcPipeline.Dicom.IO;

namespace QcPipeline.Benchmarks;

/// <summary>A realistic 512x512 16-bit CT Image Storage file written with our own writer: ~100 header attributes
/// (patient, study, series, equipment, frame of reference, image plane, CT image, VOI LUT, pixel modules) and
/// the sequences a scanner typically writes.</summary>
public static class CtFileGenerator
{
    private static DicomTag T(uint v) => new(v);

    public static DicomFile Create(int index = 0)
    {
        var ds = new DicomDataset();
        string uidRoot = "1.2.826.0.1.3680043.10.1234";
        string study = $"{uidRoot}.1.{index / 300 + 1}", series = $"{uidRoot}.2.{index / 300 + 1}", sop = $"{uidRoot}.3.{index + 1}";
        void S(uint tag, DicomVR vr, params string[] v) => ds.AddOrUpdate(T(tag), vr, v);
        S(0x00080005, DicomVR.CS, "ISO_IR 100");
        S(0x00080008, DicomVR.CS, "ORIGINAL", "PRIMARY", "AXIAL");
        S(0x00080012, DicomVR.DA, "20240312"); S(0x00080013, DicomVR.TM, "101530.123000");
        S(0x00080016, DicomVR.UI, "1.2.840.10008.5.1.4.1.1.2"); S(0x00080018, DicomVR.UI, sop);
        S(0x00080020, DicomVR.DA, "20240312"); S(0x00080021, DicomVR.DA, "20240312"); S(0x00080022, DicomVR.DA, "20240312"); S(0x00080023, DicomVR.DA, "20240312");
        S(0x00080030, DicomVR.TM, "101200"); S(0x00080031, DicomVR.TM, "101410"); S(0x00080032, DicomVR.TM, "101502.250000"); S(0x00080033, DicomVR.TM, "101530.123000");
        S(0x00080050, DicomVR.SH, "A20240312001"); S(0x00080060, DicomVR.CS, "CT"); S(0x00080064, DicomVR.CS, "DV");
        S(0x00080070, DicomVR.LO, "ACME Medical Systems"); S(0x00080080, DicomVR.LO, "General Hospital");
        S(0x00080081, DicomVR.ST, "1 Hospital Road, Springfield"); S(0x00080090, DicomVR.PN, "Referring^Doctor^^Dr.");
        S(0x00081010, DicomVR.SH, "CT01"); S(0x00081030, DicomVR.LO, "CT CHEST ABDOMEN PELVIS W CONTRAST");
        S(0x0008103E, DicomVR.LO, "Body 1.0 CE"); S(0x00081040, DicomVR.LO, "Radiology"); S(0x00081050, DicomVR.PN, "Performing^Physician");
        S(0x00081070, DicomVR.PN, "Operator^One"); S(0x00081090, DicomVR.LO, "ScanMaster 128");
        var procCode = new DicomDataset();
        procCode.AddOrUpdate(T(0x00080100), DicomVR.SH, "CTCAP"); procCode.AddOrUpdate(T(0x00080102), DicomVR.SH, "99LOCAL"); procCode.AddOrUpdate(T(0x00080104), DicomVR.LO, "CT Chest Abdomen Pelvis");
        ds.AddOrUpdate(new DicomSequence(T(0x00081032), [procCode]));
        var refStudy = new DicomDataset();
        refStudy.AddOrUpdate(T(0x00081150), DicomVR.UI, "1.2.840.10008.3.1.2.3.1"); refStudy.AddOrUpdate(T(0x00081155), DicomVR.UI, study + ".9");
        ds.AddOrUpdate(new DicomSequence(T(0x00081110), [refStudy]));
        S(0x00082111, DicomVR.ST, "Reconstructed with iterative algorithm, strength 3");
        S(0x00100010, DicomVR.PN, "Doe^Jane^Q"); S(0x00100020, DicomVR.LO, "PID0012345"); S(0x00100021, DicomVR.LO, "HOSP");
        S(0x00100030, DicomVR.DA, "19650704"); S(0x00100040, DicomVR.CS, "F"); S(0x00101010, DicomVR.AS, "058Y");
        ds.AddOrUpdate(T(0x00101020), DicomVR.DS, 1.68); ds.AddOrUpdate(T(0x00101030), DicomVR.DS, 72.5);
        S(0x00180015, DicomVR.CS, "CHEST"); S(0x00180022, DicomVR.CS, "HELICAL MODE");
        ds.AddOrUpdate(T(0x00180050), DicomVR.DS, 1.0); ds.AddOrUpdate(T(0x00180060), DicomVR.DS, 120.0);
        ds.AddOrUpdate(T(0x00180088), DicomVR.DS, 1.0); ds.AddOrUpdate(T(0x00180090), DicomVR.DS, 500.0);
        S(0x00181000, DicomVR.LO, "SN76543"); S(0x00181020, DicomVR.LO, "VA40C", "SP2");
        S(0x00181030, DicomVR.LO, "Chest_Abdomen_Pelvis"); ds.AddOrUpdate(T(0x00181100), DicomVR.DS, 380.0);
        ds.AddOrUpdate(T(0x00181110), DicomVR.DS, 1085.6); ds.AddOrUpdate(T(0x00181111), DicomVR.DS, 595.0);
        ds.AddOrUpdate(T(0x00181120), DicomVR.DS, 0.0); ds.AddOrUpdate(T(0x00181130), DicomVR.DS, 142.0);
        S(0x00181140, DicomVR.CS, "CW"); ds.AddOrUpdate(T(0x00181150), DicomVR.IS, 500);
        ds.AddOrUpdate(T(0x00181151), DicomVR.IS, 245); ds.AddOrUpdate(T(0x00181152), DicomVR.IS, 122);
        S(0x00181160, DicomVR.SH, "FLAT"); ds.AddOrUpdate(T(0x00181170), DicomVR.IS, 22);
        ds.AddOrUpdate(T(0x00181190), DicomVR.DS, 0.7); S(0x00181210, DicomVR.SH, "B30f");
        S(0x00185100, DicomVR.CS, "FFS"); ds.AddOrUpdate(T(0x00189305), DicomVR.FD, 0.5); ds.AddOrUpdate(T(0x00189311), DicomVR.FD, 1.2);
        ds.AddOrUpdate(T(0x00189345), DicomVR.FD, 9.87);
        var ctdiPhantom = new DicomDataset();
        ctdiPhantom.AddOrUpdate(T(0x00080100), DicomVR.SH, "113691"); ctdiPhantom.AddOrUpdate(T(0x00080102), DicomVR.SH, "DCM"); ctdiPhantom.AddOrUpdate(T(0x00080104), DicomVR.LO, "IEC Body Dosimetry Phantom");
        ds.AddOrUpdate(new DicomSequence(T(0x00189346), [ctdiPhantom]));
        S(0x0020000D, DicomVR.UI, study); S(0x0020000E, DicomVR.UI, series);
        S(0x00200010, DicomVR.SH, "1"); ds.AddOrUpdate(T(0x00200011), DicomVR.IS, 3);
        ds.AddOrUpdate(T(0x00200012), DicomVR.IS, 1); ds.AddOrUpdate(T(0x00200013), DicomVR.IS, index % 300 + 1);
        double z = -100.0 - (index % 300);
        S(0x00200032, DicomVR.DS, "-249.51171875", "-409.51171875", z.ToString(CultureInfo.InvariantCulture));
        S(0x00200037, DicomVR.DS, "1", "0", "0", "0", "1", "0");
        S(0x00200052, DicomVR.UI, $"{uidRoot}.4.1"); S(0x00201040, DicomVR.LO, "");
        ds.AddOrUpdate(T(0x00201041), DicomVR.DS, z);
        S(0x00204000, DicomVR.LT, "Image comments from the scanner console");
        ds.AddOrUpdate(T(0x00280002), DicomVR.US, (ushort)1); S(0x00280004, DicomVR.CS, "MONOCHROME2");
        ds.AddOrUpdate(T(0x00280010), DicomVR.US, (ushort)512); ds.AddOrUpdate(T(0x00280011), DicomVR.US, (ushort)512);
        S(0x00280030, DicomVR.DS, "0.9765625", "0.9765625");
        ds.AddOrUpdate(T(0x00280100), DicomVR.US, (ushort)16); ds.AddOrUpdate(T(0x00280101), DicomVR.US, (ushort)12);
        ds.AddOrUpdate(T(0x00280102), DicomVR.US, (ushort)11); ds.AddOrUpdate(T(0x00280103), DicomVR.US, (ushort)1);
        ds.AddOrUpdate(T(0x00281050), DicomVR.DS, 40.0); ds.AddOrUpdate(T(0x00281051), DicomVR.DS, 400.0);
        ds.AddOrUpdate(T(0x00281052), DicomVR.DS, -1024.0); ds.AddOrUpdate(T(0x00281053), DicomVR.DS, 1.0);
        S(0x00281054, DicomVR.LO, "HU"); S(0x00281055, DicomVR.LO, "WINDOW1");
        S(0x00321060, DicomVR.LO, "CT CHEST ABDOMEN PELVIS");
        S(0x00400244, DicomVR.DA, "20240312"); S(0x00400245, DicomVR.TM, "101200");
        S(0x00400253, DicomVR.SH, "PPS1234"); S(0x00400254, DicomVR.LO, "CT Chest Abdomen Pelvis");
        var request = new DicomDataset();
        request.AddOrUpdate(T(0x00321060), DicomVR.LO, "CT CAP"); request.AddOrUpdate(T(0x00401001), DicomVR.SH, "RP0001");
        ds.AddOrUpdate(new DicomSequence(T(0x00400275), [request]));
        // A private block like a vendor's.
        S(0x00190010, DicomVR.LO, "ACME CT HEADER"); S(0x00191001, DicomVR.LO, "v2.3"); ds.AddOrUpdate(T(0x00191002), DicomVR.OB, new byte[64]);
        // Pixel data: a disc of soft tissue in air.
        var pixels = new short[512 * 512];
        for (int y = 0; y < 512; y++)
            for (int x = 0; x < 512; x++)
            {
                int dx = x - 256, dy = y - 256;
                pixels[y * 512 + x] = (short)(dx * dx + dy * dy < 200 * 200 ? 1024 + 40 + (x ^ y) % 32 : 0);
            }
        ds.AddOrUpdate(T(0x7FE00010), DicomVR.OW, pixels);
        return new DicomFile(ds);
    }

    /// <summary>Writes <paramref name="count"/> CT files (explicit VR LE) into <paramref name="dir"/>.</summary>
    /// <summary>Writes <paramref name="count"/> files; <paramref name="first"/> offsets the instance numbers, so
    /// folders generated with different offsets hold different SOP instances (and studies).</summary>
    public static void Generate(string dir, int count, int first = 0)
    {
        Directory.CreateDirectory(dir);
        for (int i = first; i < first + count; i++)
            Create(i).Save(Path.Combine(dir, $"ct{i:D6}.dcm"), TransferSyntax.ExplicitVRLittleEndian);
    }
}
