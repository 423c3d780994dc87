using System.Buffers.Binary;
using System.IO.Compression;
using Recipes.Runtime.IO;

namespace Recipes.Mnist;

/// <summary>
/// Writes IDX image and label files in the layout <see cref="IdxReader"/> reads, optionally gzipped.
/// Files are written atomically, so a reader never sees half of one.
/// </summary>
public static class IdxWriter
{
    public static void WriteImages(string path, byte[] pixels, int count, int rows, int cols, bool gzip)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        if (pixels.Length != (long)count * rows * cols)
            throw new ArgumentException($"{count} images of {rows}x{cols} need {(long)count * rows * cols} pixels, got {pixels.Length}", nameof(pixels));

        byte[] header = new byte[IdxFormat.ImagesHeaderLength];
        BinaryPrimitives.WriteInt32BigEndian(header, IdxFormat.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), cols);
        Write(path, header, pixels, gzip);
    }

    public static void WriteLabels(string path, byte[] labels, bool gzip)
    {
        byte[] header = new byte[IdxFormat.LabelsHeaderLength];
        BinaryPrimitives.WriteInt32BigEndian(header, IdxFormat.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), labels.Length);
        Write(path, header, labels, gzip);
    }

    /// <summary>Writes a whole data set as an images file and a labels file.</summary>
    public static void WriteDataset(LabeledImages dataset, string imagesPath, string labelsPath, bool gzip)
    {
        WriteImages(imagesPath, dataset.Pixels, dataset.Count, dataset.Height, dataset.Width, gzip);
        WriteLabels(labelsPath, dataset.Labels, gzip);
    }

    static void Write(string path, byte[] header, byte[] data, bool gzip) =>
        AtomicFile.Write(path, file =>
        {
            if (!gzip)
            {
                file.Write(header);
                file.Write(data);
                return;
            }
            using var compressed = new GZipStream(file, CompressionLevel.Optimal, leaveOpen: true);
            compressed.Write(header);
            compressed.Write(data);
        });
}
