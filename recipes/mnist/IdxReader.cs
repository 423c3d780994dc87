using System.Buffers.Binary;
using System.IO.Compression;
using Recipes.Runtime.Data;

namespace Recipes.Mnist;

/// <summary>
/// Reads the IDX files of MNIST and Fashion-MNIST, gzipped or not (decided by the gzip signature
/// 1f 8b at the start of the file, never by its name: browsers often unpack ".gz" downloads silently).
/// Every problem with a file is a <see cref="DataFileException"/> naming the file and what is wrong.
/// </summary>
public static class IdxReader
{
    /// <summary>
    /// The most pixels a file may declare. A corrupt header must not make us allocate gigabytes;
    /// this is also the largest byte array .NET can hold.
    /// </summary>
    public static readonly long MaxPixelCount = Array.MaxLength;

    /// <summary>Reads a pair of image and label files into one data set, checking that they belong together.</summary>
    public static LabeledImages ReadDataset(string imagesPath, string labelsPath, int classCount = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        var (pixels, count, rows, cols) = ReadImages(imagesPath);
        byte[] labels = ReadLabels(labelsPath);
        if (labels.Length != count)
            throw new DataFileException(labelsPath, $"has {labels.Length} labels but the images file {imagesPath} has {count} images");
        for (int i = 0; i < labels.Length; i++)
        {
            if (labels[i] >= classCount)
                throw new DataFileException(labelsPath, $"label {labels[i]} at index {i} is not below the class count {classCount}");
        }
        return new LabeledImages(pixels, labels, rows, cols, classCount);
    }

    /// <summary>Reads an IDX images file (magic 2051): all images, row-major, one byte per pixel.</summary>
    public static (byte[] pixels, int count, int rows, int cols) ReadImages(string path)
    {
        using var source = OpenContent(path);
        Span<byte> header = stackalloc byte[IdxFormat.ImagesHeaderLength];
        ReadHeader(source, path, header, IdxFormat.ImagesMagic);
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        int rows = BinaryPrimitives.ReadInt32BigEndian(header[8..]);
        int cols = BinaryPrimitives.ReadInt32BigEndian(header[12..]);
        if (count < 0) throw new DataFileException(path, $"header declares a negative image count ({count})");
        if (rows <= 0 || cols <= 0) throw new DataFileException(path, $"header declares an image size of {rows}x{cols}; both must be positive");
        long pixelCount = (long)count * rows * cols;
        if (pixelCount > MaxPixelCount)
            throw new DataFileException(path, $"header declares {count} images of {rows}x{cols} = {pixelCount} pixels, more than the limit of {MaxPixelCount}; the header is corrupt");
        byte[] pixels = ReadData(source, path, IdxFormat.ImagesHeaderLength, (int)pixelCount);
        return (pixels, count, rows, cols);
    }

    /// <summary>Reads an IDX labels file (magic 2049): one byte per label.</summary>
    public static byte[] ReadLabels(string path)
    {
        using var source = OpenContent(path);
        Span<byte> header = stackalloc byte[IdxFormat.LabelsHeaderLength];
        ReadHeader(source, path, header, IdxFormat.LabelsMagic);
        int count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
        if (count < 0) throw new DataFileException(path, $"header declares a negative label count ({count})");
        return ReadData(source, path, IdxFormat.LabelsHeaderLength, count);
    }

    /// <summary>The file's content: through a gzip decoder when it starts with the gzip signature.</summary>
    static Stream OpenContent(string path)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception error) when (error is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFileException(path, "file not found", error);
        }
        Span<byte> signature = stackalloc byte[2];
        int signatureLength = file.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (!IdxFormat.StartsWithGzipSignature(signature[..signatureLength])) return file;
        return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
    }

    static void ReadHeader(Stream source, string path, Span<byte> header, int expectedMagic)
    {
        int got = ReadUpTo(source, path, header);
        // A file too short to hold a magic number cannot say what it is.
        if (got >= 4)
        {
            int magic = BinaryPrimitives.ReadInt32BigEndian(header);
            if (magic != expectedMagic)
                throw new DataFileException(path, $"wrong magic number: found {IdxFormat.DescribeMagic(magic)}, expected {IdxFormat.DescribeMagic(expectedMagic)}");
        }
        if (got < header.Length)
            throw new DataFileException(path, $"truncated header: expected {header.Length} bytes, got {got}");
    }

    /// <summary>
    /// Reads exactly <paramref name="length"/> bytes of data and checks nothing follows them. Memory grows
    /// with the bytes that actually arrive, so a header that lies about its size cannot force a huge allocation.
    /// </summary>
    static byte[] ReadData(Stream source, string path, int headerLength, int length)
    {
        const int chunkLength = 1 << 24;
        var chunks = new List<byte[]>();
        long received = 0;
        while (received < length)
        {
            byte[] chunk = new byte[(int)Math.Min(chunkLength, length - received)];
            int got = ReadUpTo(source, path, chunk);
            received += got;
            if (got < chunk.Length)
                throw new DataFileException(path, $"truncated data: expected {length} bytes after the {headerLength}-byte header, got {received}");
            chunks.Add(chunk);
        }
        Span<byte> probe = stackalloc byte[1];
        if (ReadUpTo(source, path, probe) != 0)
            throw new DataFileException(path, $"unexpected bytes after the {length} data bytes the header declares; the header does not match the data");

        if (chunks.Count == 1) return chunks[0];
        byte[] data = new byte[length];
        int offset = 0;
        foreach (byte[] chunk in chunks)
        {
            chunk.CopyTo(data, offset);
            offset += chunk.Length;
        }
        return data;
    }

    /// <summary>Fills the buffer unless the content ends first; returns how many bytes were read.</summary>
    static int ReadUpTo(Stream source, string path, Span<byte> buffer)
    {
        try
        {
            return source.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException error)
        {
            // .NET's own words ("unsupported compression method") do not tell a user what to do.
            throw new DataFileException(path,
                $"not a valid gzip file: it starts like one but its data cannot be decompressed ({error.Message}); the file is corrupt or truncated: " +
                "delete it and download it again", error);
        }
    }
}
