using System.Buffers.Binary;
using System.Text;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// Reads the protocol-buffer wire format field by field, skipping fields it is not asked about, so that
/// events written by TensorFlow or PyTorch (which carry more fields than ours) still parse.
/// Malformed input raises <see cref="InvalidDataException"/>; callers add the file name.
/// </summary>
internal ref struct ProtobufWireReader
{
    readonly ReadOnlySpan<byte> _data;
    int _position;

    public ProtobufWireReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
    }

    public readonly bool AtEnd => _position >= _data.Length;

    public (int Field, int WireType) ReadTag()
    {
        ulong tag = ReadVarint();
        int field = (int)(tag >> 3);
        if (field <= 0) throw new InvalidDataException($"invalid protobuf field number {tag >> 3}");
        return (field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte next = Take(1)[0];
            result |= (ulong)(next & 0x7F) << shift;
            if ((next & 0x80) == 0) return result;
        }
        throw new InvalidDataException("protobuf varint longer than 10 bytes");
    }

    public double ReadDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    public float ReadFloat() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        ulong length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
            throw new InvalidDataException($"protobuf field of {length} bytes runs past the end of its message");
        return Take((int)length);
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadLengthDelimited());

    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case ProtobufWireWriter.WireVarint: ReadVarint(); break;
            case ProtobufWireWriter.WireFixed64: Take(8); break;
            case ProtobufWireWriter.WireLengthDelimited: ReadLengthDelimited(); break;
            case ProtobufWireWriter.WireFixed32: Take(4); break;
            default: throw new InvalidDataException($"unsupported protobuf wire type {wireType}");
        }
    }

    /// <summary>Fails, naming the field, when a known field arrives with a wire type its schema does not allow.</summary>
    public readonly void Expect(int field, int wireType, int expectedWireType)
    {
        if (wireType != expectedWireType)
            throw new InvalidDataException($"protobuf field {field} has wire type {wireType}, expected {expectedWireType}");
    }

    ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
            throw new InvalidDataException("protobuf message ends in the middle of a field");
        var slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }
}
