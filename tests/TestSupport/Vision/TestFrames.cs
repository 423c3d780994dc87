using System.Buffers.Binary;
using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

/// <summary>Frames and encoded files whose every value is known, for the vision tests.</summary>
static class TestFrames
{
    /// <summary>Pixel (x, y) is (x, y, 7): any pixel tells where it came from.</summary>
    public static RgbFrame Coordinates(int width, int height)
    {
        float[] pixels = new float[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                pixels[i] = x;
                pixels[i + 1] = y;
                pixels[i + 2] = 7;
            }
        return new RgbFrame(width, height, pixels);
    }

    /// <summary>A frame of the given pixels, (r, g, b) triples row by row.</summary>
    public static RgbFrame Of(int width, int height, params float[] rgb) => new(width, height, rgb);

    public static float[] Pixel(RgbFrame frame, int x, int y) => [frame[x, y, 0], frame[x, y, 1], frame[x, y, 2]];

    /// <summary>
    /// A valid PNG signature and IHDR chunk declaring <paramref name="width"/> x <paramref name="height"/> RGB
    /// pixels, followed by a tiny IDAT and IEND: a few dozen bytes that would decode to gigabytes.
    /// </summary>
    public static byte[] PngDeclaring(int width, int height)
    {
        using var stream = new MemoryStream();
        stream.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        byte[] header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type RGB
        WriteChunk(stream, "IHDR", header);
        WriteChunk(stream, "IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]); // an empty zlib stream
        WriteChunk(stream, "IEND", []);
        return stream.ToArray();
    }

    static void WriteChunk(Stream stream, string type, byte[] data)
    {
        byte[] length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        stream.Write(length);
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        stream.Write(typeAndData);
        byte[] crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        stream.Write(crc);
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        foreach (byte value in data)
        {
            crc ^= value;
            for (int bit = 0; bit < 8; bit++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
