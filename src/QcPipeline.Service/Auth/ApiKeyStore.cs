using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QcPipeline.Service.Auth;

/// <summary>The configured API keys, held as SHA-256 hashes only. A presented key is hashed and compared with every
/// configured hash in constant time, so neither the key nor which entry matched leaks through timing.</summary>
public sealed class ApiKeyStore
{
    public const int MinKeyLength = 16;

    private readonly Entry[] _entries;

    public ApiKeyStore(IOptions<HttpOptions> options)
    {
        _entries = options.Value.Auth.ApiKeys.Select(k => new Entry(
            k.Name,
            Convert.FromHexString(string.IsNullOrEmpty(k.KeySha256) ? HashHex(k.Key!) : k.KeySha256),
            // No scopes listed: store and read, as before manage existed; changing plans and schedules is granted explicitly.
            k.Scopes.Length == 0 ? [QcScopes.Store, QcScopes.Read] : k.Scopes.Distinct(StringComparer.Ordinal).ToArray())).ToArray();
    }

    public sealed record Entry(string Name, byte[] Hash, string[] Scopes);

    public bool IsEmpty => _entries.Length == 0;

    public Entry? Find(string presentedKey)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presentedKey), hash);
        Entry? found = null;
        foreach (var e in _entries)
            if (CryptographicOperations.FixedTimeEquals(e.Hash, hash) && found is null) found = e;
        return found;
    }

    public static string HashHex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    public static bool IsSha256Hex(string s) => s.Length == 64 && s.All(Uri.IsHexDigit);
}
