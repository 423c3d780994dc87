using System.Text;
using Recipes.Runtime.Data;

namespace Recipes.Runtime.Models.Backbones;

/// <summary>
/// Reads the state-dictionary format that TorchSharp's <c>Module.save</c> writes and its <c>exportsd.py</c> produces
/// from PyTorch: the entry count (LEB128), then per entry the name (a .NET length-prefixed UTF-8 string), the element
/// type code, the number of dimensions and each dimension (LEB128 each), and the raw little-endian elements.
/// </summary>
/// <remarks>
/// TorchSharp's own <c>Module.load</c> copies each entry into the module as it reads, so a file that fails halfway
/// leaves a half-loaded module, and its errors ("Mismatched tensor shape while loading") do not say which tensor.
/// This reader first indexes every header (skipping the data), so the file can be checked against the module
/// as a whole, and then reads only the data that is needed.
/// </remarks>
sealed class TorchSharpWeightsFile : IDisposable
{
    // Far above any real network (the largest torchvision tensors have 4 dimensions), and low enough that a
    // file of another format is caught on its first header instead of asking for an absurd allocation.
    const int MaxDimensions = 16;

    readonly FileStream _stream;

    TorchSharpWeightsFile(string path, FileStream stream, IReadOnlyDictionary<string, Entry> entries)
    {
        Path = path;
        _stream = stream;
        Entries = entries;
    }

    /// <summary>One tensor of the file: its element type, shape and where its data starts.</summary>
    public sealed record Entry(string Name, ScalarType ElementType, long[] Shape, long DataOffset, long DataLength);

    public string Path { get; }

    /// <summary>The entries by name, in file order.</summary>
    public IReadOnlyDictionary<string, Entry> Entries { get; }

    /// <summary>Opens the file and reads every entry's header; throws a <see cref="DataFileException"/> for a file
    /// that is not in the format, truncated, or has data after its last entry.</summary>
    public static TorchSharpWeightsFile Open(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no weights file here");
        var stream = File.OpenRead(path);
        try
        {
            return new TorchSharpWeightsFile(path, stream, ReadIndex(path, stream));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads an entry's data into a new CPU tensor of the file's element type and shape.</summary>
    public Tensor ReadTensor(Entry entry)
    {
        _stream.Position = entry.DataOffset;
        var data = new byte[entry.DataLength];
        _stream.ReadExactly(data);
        var tensor = torch.empty(entry.Shape, dtype: entry.ElementType);
        tensor.bytes = data;
        return tensor;
    }

    public void Dispose() => _stream.Dispose();

    static Dictionary<string, Entry> ReadIndex(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        long count = ReadHeaderNumber(reader, path, "the entry count");
        // Every entry takes at least 3 bytes (an empty name, a type code, zero dimensions).
        if (count > fileLength / 3)
            throw new DataFileException(path, $"starts with an entry count of {count}, more than its {fileLength} bytes can hold (truncated, or not a TorchSharp weights file)");

        var entries = new Dictionary<string, Entry>();
        for (long index = 0; index < count; index++)
        {
            string where = $"entry {index + 1} of {count}";
            string name = ReadName(reader, path, where);
            where = $"entry {index + 1} of {count} ('{name}')";
            long typeCode = ReadHeaderNumber(reader, path, $"the element type of {where}");
            if (typeCode > int.MaxValue || ElementSize((ScalarType)typeCode) is not { } elementSize)
                throw new DataFileException(path, $"{where} has an unknown element type code {typeCode} (not a TorchSharp weights file?)");
            long dimensions = ReadHeaderNumber(reader, path, $"the dimension count of {where}");
            if (dimensions > MaxDimensions)
                throw new DataFileException(path, $"{where} claims {dimensions} dimensions (not a TorchSharp weights file?)");
            var shape = new long[dimensions];
            long elements = 1;
            for (int d = 0; d < dimensions; d++)
            {
                shape[d] = ReadHeaderNumber(reader, path, $"the shape of {where}");
                // Checked arithmetic: a garbage shape must give an error, not a wrapped-around size.
                try { elements = checked(elements * shape[d]); }
                catch (OverflowException) { throw new DataFileException(path, $"{where} has an impossible shape [{string.Join(", ", shape.Take(d + 1))}...]"); }
            }
            long dataLength = elements <= long.MaxValue / elementSize ? elements * elementSize : long.MaxValue;
            long dataOffset = stream.Position;
            long remaining = fileLength - dataOffset;
            if (dataLength > remaining)
                throw new DataFileException(path, $"truncated: {where}, shape [{string.Join(", ", shape)}], needs {dataLength} bytes of data but the file ends {remaining} bytes later");
            if (dataLength > Array.MaxLength)
                throw new DataFileException(path, $"{where} has {dataLength} bytes of data, more than one tensor can be read into here");
            if (!entries.TryAdd(name, new Entry(name, (ScalarType)typeCode, shape, dataOffset, dataLength)))
                throw new DataFileException(path, $"{where}: the name appears twice");
            stream.Position = dataOffset + dataLength;
        }
        if (stream.Position != fileLength)
            throw new DataFileException(path, $"{fileLength - stream.Position} unexpected bytes after the last of its {count} entries (not a TorchSharp weights file?)");
        return entries;
    }

    static string ReadName(BinaryReader reader, string path, string where)
    {
        try
        {
            return reader.ReadString();
        }
        catch (EndOfStreamException)
        {
            throw new DataFileException(path, $"truncated in the name of {where}");
        }
        catch (Exception error) when (error is FormatException or DecoderFallbackException)
        {
            throw new DataFileException(path, $"the name of {where} is not a valid string (not a TorchSharp weights file?)", error);
        }
    }

    /// <summary>An unsigned LEB128 number, as TorchSharp's <c>LEB128Codec</c> writes counts, type codes and shapes.</summary>
    static long ReadHeaderNumber(BinaryReader reader, string path, string what)
    {
        long value = 0;
        for (int shift = 0; shift < 63; shift += 7)
        {
            int next = reader.BaseStream.ReadByte();
            if (next < 0) throw new DataFileException(path, $"truncated in {what}");
            value |= (long)(next & 0x7F) << shift;
            if ((next & 0x80) == 0) return value;
        }
        throw new DataFileException(path, $"{what} is not a valid number (not a TorchSharp weights file?)");
    }

    static int? ElementSize(ScalarType type) => type switch
    {
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 or ScalarType.ComplexFloat32 => 8,
        ScalarType.ComplexFloat64 => 16,
        _ => null,
    };
}
