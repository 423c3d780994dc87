using System.Buffers.Binary;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files. Each record is
/// <c>uint64 length | uint32 masked CRC32C(length bytes) | data | uint32 masked CRC32C(data)</c>, all little-endian.
/// </summary>
static class TfRecordFraming
{
    public const int HeaderSize = 12;
    public const int FooterSize = 4;

    /// <summary>Writes one framed record with a single write, so the stream never holds half a frame of ours.</summary>
    public static void WriteRecord(Stream stream, ReadOnlySpan<byte> data)
    {
        var record = new byte[HeaderSize + data.Length + FooterSize];
        var span = record.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Crc32C.ComputeMasked(span[..8]));
        data.CopyTo(span[HeaderSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(HeaderSize + data.Length)..], Crc32C.ComputeMasked(data));
        stream.Write(record);
    }
}
