namespace QcPipeline.Dicom.Tests.Imaging.Codecs;

/// <summary>
/// Test-only JPEG lossless (T.81 Annex H, process 14) encoder with a fixed Huffman table (17 categories, 5-bit codes),
/// restart intervals counted in MCUs (may start mid-line), interleaved components and point transform.
/// Used to produce streams DCMTK cannot make here (restart markers).
/// </summary>
internal static class TestJpegLosslessEncoder
{
    public static byte[] Encode(ushort[] samples, int rows, int cols, int components, int precision, int predictor, int pointTransform, int restartInterval)
    {
        var output = new List<byte> { 0xFF, 0xD8 };
        void Segment(byte marker, List<byte> body)
        {
            output.Add(0xFF);
            output.Add(marker);
            output.Add((byte)((body.Count + 2) >> 8));
            output.Add((byte)(body.Count + 2));
            output.AddRange(body);
        }

        var sof = new List<byte> { (byte)precision, (byte)(rows >> 8), (byte)rows, (byte)(cols >> 8), (byte)cols, (byte)components };
        for (int c = 0; c < components; c++) sof.AddRange([(byte)(c + 1), 0x11, 0]);
        Segment(0xC3, sof);

        var dht = new List<byte> { 0x00 };
        for (int l = 1; l <= 16; l++) dht.Add((byte)(l == 5 ? 17 : 0));
        for (int v = 0; v <= 16; v++) dht.Add((byte)v);
        Segment(0xC4, dht);

        if (restartInterval > 0) Segment(0xDD, [(byte)(restartInterval >> 8), (byte)restartInterval]);

        var sos = new List<byte> { (byte)components };
        for (int c = 0; c < components; c++) sos.AddRange([(byte)(c + 1), 0x00]);
        sos.AddRange([(byte)predictor, 0, (byte)pointTransform]);
        Segment(0xDA, sos);

        ulong acc = 0;
        int nbits = 0;
        void Put(int value, int count)
        {
            acc = (acc << count) | (uint)(value & ((1 << count) - 1));
            nbits += count;
            while (nbits >= 8)
            {
                byte b = (byte)(acc >> (nbits - 8));
                output.Add(b);
                if (b == 0xFF) output.Add(0);
                nbits -= 8;
            }
        }
        void Align()
        {
            if (nbits > 0) Put((1 << (8 - nbits)) - 1, 8 - nbits);
        }

        int Sample(int y, int x, int c) => samples[(((y * cols) + x) * components) + c] >> pointTransform;
        int initial = 1 << (precision - pointTransform - 1);
        int mcu = 0, restarts = 0, intervalRow = 0;
        bool reset = true;
        for (int y = 0; y < rows; y++)
        {
            for (int x = 0; x < cols; x++)
            {
                if (restartInterval > 0 && mcu > 0 && mcu % restartInterval == 0)
                {
                    Align();
                    output.Add(0xFF);
                    output.Add((byte)(0xD0 + (restarts++ & 7)));
                    reset = true;
                    intervalRow = y;
                }
                mcu++;
                for (int c = 0; c < components; c++)
                {
                    int prediction;
                    if (reset) prediction = initial;
                    else if (y == intervalRow) prediction = Sample(y, x - 1, c);
                    else if (x == 0) prediction = Sample(y - 1, x, c);
                    else
                    {
                        int ra = Sample(y, x - 1, c), rb = Sample(y - 1, x, c), rc = Sample(y - 1, x - 1, c);
                        prediction = predictor switch
                        {
                            1 => ra, 2 => rb, 3 => rc, 4 => ra + rb - rc,
                            5 => ra + ((rb - rc) >> 1), 6 => rb + ((ra - rc) >> 1), _ => (ra + rb) >> 1,
                        };
                    }
                    int diff = (Sample(y, x, c) - prediction) & 0xFFFF;
                    if (diff >= 32768) diff -= 65536;
                    if (diff == -32768)
                    {
                        Put(16, 5);
                        continue;
                    }
                    int magnitude = Math.Abs(diff);
                    int ssss = 0;
                    while ((1 << ssss) <= magnitude) ssss++;
                    Put(ssss, 5);
                    if (ssss > 0) Put(diff > 0 ? diff : diff + (1 << ssss) - 1, ssss);
                }
                reset = false;
            }
        }
        Align();
        output.Add(0xFF);
        output.Add(0xD9);
        return output.ToArray();
    }
}
