using System.Buffers.Binary;
using System.Text;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// Just enough of the protocol-buffer wire format to encode TensorBoard events: varints, 64- and 32-bit
/// fixed values and length-delimited fields. Pulling in a protobuf library for five fields is not worth it.
/// </summary>
internal sealed class ProtobufWireWriter
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    readonly MemoryStream _buffer = new();

    public void WriteDouble(int field, double value)
    {
        WriteTag(field, WireFixed64);
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireFixed32);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        _buffer.Write(bytes);
    }

    // int64 fields use plain two's-complement varints, so a negative step takes ten bytes (not zigzag).
    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireVarint);
        WriteVarint(unchecked((ulong)value));
    }

    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    public void WriteMessage(int field, ProtobufWireWriter message) => WriteBytes(field, message.ToArray());

    public byte[] ToArray() => _buffer.ToArray();

    void WriteBytes(int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(field, WireLengthDelimited);
        WriteVarint((ulong)bytes.Length);
        _buffer.Write(bytes);
    }

    void WriteTag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

    void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.WriteByte((byte)value);
    }
}
