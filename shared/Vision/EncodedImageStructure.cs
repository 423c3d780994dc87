using System.Buffers.Binary;

namespace Recipes.Runtime.Vision;

/// <summary>
/// Checks that a JPEG or PNG file is complete before it is decoded. ImageSharp (like most decoders) decodes a
/// truncated file without complaint and fills the missing part with black; a training set would then learn
/// from half-black pictures. Walking the file's segments or chunks to its end marker is cheap and catches that.
/// </summary>
static class EncodedImageStructure
{
    /// <summary>Null when the bytes are a complete JPEG or PNG, or another format (not checked here); else what is wrong.</summary>
    public static string? FindProblem(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 2 && data[0] == 0xFF && data[1] == 0xD8) return FindJpegProblem(data);
        if (data.Length >= 4 && data[..4].SequenceEqual(PngSignature[..4])) return FindPngProblem(data);
        return null;
    }

    /// <summary>Null when the file reaches its end marker, else what is wrong.</summary>
    public static string? FindJpegProblem(ReadOnlySpan<byte> data)
    {
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8) return "not a JPEG: no start-of-image marker";
        int position = 2;
        while (true)
        {
            // Decoders tolerate stray bytes between segments; so do we, up to the next marker.
            while (position < data.Length && data[position] != 0xFF) position++;
            while (position < data.Length && data[position] == 0xFF) position++;
            if (position >= data.Length) return "truncated JPEG: the file ends before its end-of-image marker";
            byte marker = data[position++];
            if (marker == 0xD9) return null; // end of image
            if (marker is 0x01 or (>= 0xD0 and <= 0xD8)) continue; // markers without a length
            if (position + 2 > data.Length) return $"truncated JPEG: the file ends inside the header of segment 0x{marker:X2}";
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[position..]);
            if (length < 2) return $"corrupt JPEG: segment 0x{marker:X2} declares length {length}";
            position += length;
            if (position > data.Length) return $"truncated JPEG: the file ends inside segment 0x{marker:X2}";
            if (marker != 0xDA) continue;
            // After a start-of-scan comes entropy-coded data, in which 0xFF is always followed by 0x00 (a
            // stuffed byte) or a restart marker; anything else is the next marker.
            while (true)
            {
                if (position >= data.Length) return "truncated JPEG: the file ends inside the compressed image data";
                if (data[position] != 0xFF) { position++; continue; }
                if (position + 1 >= data.Length) return "truncated JPEG: the file ends inside the compressed image data";
                byte next = data[position + 1];
                if (next == 0x00 || next is >= 0xD0 and <= 0xD7 || next == 0xFF) { position += next == 0xFF ? 1 : 2; continue; }
                break;
            }
        }
    }

    static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Null when every chunk is whole up to IEND, else what is wrong.</summary>
    public static string? FindPngProblem(ReadOnlySpan<byte> data)
    {
        if (data.Length < PngSignature.Length || !data[..PngSignature.Length].SequenceEqual(PngSignature)) return "not a PNG: wrong signature";
        long position = PngSignature.Length;
        while (true)
        {
            if (position + 8 > data.Length) return "truncated PNG: the file ends before its IEND chunk";
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[(int)position..]);
            string type = System.Text.Encoding.ASCII.GetString(data.Slice((int)position + 4, 4));
            if (length > int.MaxValue) return $"corrupt PNG: chunk {type} declares {length} bytes";
            position += 12 + (long)length; // length, type, data, CRC
            if (position > data.Length) return $"truncated PNG: the file ends inside chunk {type}";
            if (type == "IEND") return null;
        }
    }
}
