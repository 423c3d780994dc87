using System.Buffers.Binary;
using System.IO.Compression;

namespace Recipes.Runtime.Data.Download;

/// <summary>
/// Decompresses a gzip file and, at its end, checks the CRC-32 and length that the gzip trailer records.
/// <see cref="GZipStream"/> checks them only when it reaches the trailer, so a file cut short comes out
/// as a shorter, apparently valid one.
/// The trailer checked is the file's last eight bytes, so a file of several concatenated gzip members
/// (rare for data sets) is reported as corrupt rather than silently accepted.
/// </summary>
sealed class CheckedGzipStream : Stream
{
    const int MinimumGzipLength = 18; // the fixed 10-byte header and the 8-byte trailer

    readonly FileStream file;
    readonly GZipStream decompressed;
    readonly uint expectedCrc;
    readonly uint expectedLengthModulo32Bits;
    readonly Crc32 crc = new();
    bool endChecked;

    public CheckedGzipStream(string path)
    {
        file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            if (file.Length < MinimumGzipLength) throw new InvalidDataException($"{file.Length} bytes is too short for gzip data");
            Span<byte> trailer = stackalloc byte[8];
            file.Seek(-8, SeekOrigin.End);
            file.ReadExactly(trailer);
            expectedCrc = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            expectedLengthModulo32Bits = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
            file.Seek(0, SeekOrigin.Begin);
            decompressed = new GZipStream(file, CompressionMode.Decompress);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        int count = decompressed.Read(buffer);
        if (count > 0) crc.Append(buffer[..count]);
        else if (buffer.Length > 0) CheckTrailer();
        return count;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    void CheckTrailer()
    {
        if (endChecked) return;
        endChecked = true;
        if (crc.Value != expectedCrc || (uint)crc.Length != expectedLengthModulo32Bits)
            throw new InvalidDataException(
                $"the gzip data ends after {crc.Length} bytes with CRC-32 {crc.Value:x8}, but its trailer records " +
                $"{expectedLengthModulo32Bits} bytes (mod 2^32) with CRC-32 {expectedCrc:x8}: the file is truncated or corrupt");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            decompressed.Dispose();
            file.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
