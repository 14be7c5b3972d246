using System.Buffers;
using System.Buffers.Binary;
using QcPipeline.Dicom.Network;

namespace QcPipeline.Dicom.Tests.Network;

/// <summary>Deterministic mutations of valid PDUs: every input ends in a PDU, a "need more bytes" answer
/// or a <see cref="DicomNetworkException"/>, never another exception.</summary>
public class PduFuzzTests
{
    [Fact]
    public void Mutations_end_in_a_pdu_or_a_network_exception()
    {
        var seeds = PduCodecTests.AllSamples().Select(PduWriter.ToArray).ToArray();
        var reader = new PduReader(4096, 1024);
        int parsed = 0, rejected = 0;
        for (int i = 0; i < 5000; i++)
        {
            var r = new Random(i);
            var b = (byte[])seeds[i % seeds.Length].Clone();
            b = Mutate(b, r);
            try
            {
                new PduReader().Parse(b);
                parsed++;
            }
            catch (DicomNetworkException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {i}: {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(b)}");
            }
            try
            {
                var seq = new ReadOnlySequence<byte>(b);
                while (reader.TryRead(ref seq, out _)) { }
            }
            catch (DicomNetworkException) { }
            catch (Exception e)
            {
                Assert.Fail($"seed {i} (TryRead): {e.GetType().Name}: {e.Message}\n{Convert.ToHexString(b)}");
            }
        }
        Assert.True(parsed > 100 && rejected > 1000, $"parsed {parsed}, rejected {rejected}");
    }

    private static byte[] Mutate(byte[] b, Random r)
    {
        int kind = r.Next(5);
        switch (kind)
        {
            case 0: // flip a few bytes
                for (int k = r.Next(1, 4); k > 0; k--) b[r.Next(b.Length)] = (byte)r.Next(256);
                return b;
            case 1: // truncate, keeping the header's length consistent half of the time
                var t = b[..r.Next(b.Length)];
                if (t.Length >= 6 && r.Next(2) == 0) BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(2), (uint)(t.Length - 6));
                return t;
            case 2: // corrupt a 16-bit length somewhere past the header
                if (b.Length > 8)
                {
                    int o = r.Next(6, b.Length - 1);
                    BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(o), (ushort)r.Next(65536));
                }
                return b;
            case 3: // insert random bytes and fix the PDU length
                int at = r.Next(6, b.Length + 1);
                var ins = new byte[r.Next(1, 9)];
                r.NextBytes(ins);
                byte[] grown = [.. b[..at], .. ins, .. b[at..]];
                BinaryPrimitives.WriteUInt32BigEndian(grown.AsSpan(2), (uint)(grown.Length - 6));
                return grown;
            default: // bit flip in the header
                b[r.Next(6)] ^= (byte)(1 << r.Next(8));
                return b;
        }
    }
}
