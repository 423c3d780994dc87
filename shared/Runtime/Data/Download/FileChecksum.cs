using System.Security.Cryptography;

namespace Recipes.Runtime.Data.Download;

/// <summary>SHA-256 digests in the lower-case hex form that checksum lists publish.</summary>
public static class FileChecksum
{
    public static string Sha256Hex(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    public static string Sha256Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));
}
