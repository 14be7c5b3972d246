using System.Numerics;
using System.Security.Cryptography;
using System.Text;

namespace QcPipeline.Phantoms.Common;

/// <summary>Deterministic UIDs under the 2.25 root (PS3.5 §B.2: a UUID as an integer): the 128 bits are the
/// first 16 bytes of SHA-256 over the generator's seed, the options and a label, so the same request always
/// gives the same UIDs and different requests different ones.</summary>
internal sealed class Uids(string scope)
{
    public string For(string label)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(scope + "\n" + label));
        var bytes = new byte[17]; // trailing zero byte keeps the BigInteger positive
        hash.AsSpan(0, 16).CopyTo(bytes);
        bytes[15] &= 0x7F;
        return "2.25." + new BigInteger(bytes).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
