using System.Diagnostics;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Recipes.ObjectDetection;

/// <summary>What <see cref="DetectionVisualiser.AnnotateFolder"/> did.</summary>
/// <param name="Images">Images annotated and written.</param>
/// <param name="DetectionsDrawn">Detections at or above the threshold, over all images.</param>
/// <param name="Skipped">Files that could not be used (corrupt, truncated, oversized), each with its problem.</param>
/// <param name="GifPath">The animated GIF, or null when no image could be annotated.</param>
/// <param name="GifFrames">Frames in the GIF: all images, or the first <see cref="DetectionVisualiser.MaxGifFrames"/>.</param>
public sealed record FolderVisualisation(int Images, int DetectionsDrawn, IReadOnlyList<SkippedImage> Skipped, string? GifPath, int GifFrames)
{
    public int SkippedCount => Skipped.Count;
}

/// <summary>
/// The seed's video demo for a folder of images (video frames, say): runs the detector on every image in natural
/// name order, writes each annotated as JPEG, and puts them all into one animated GIF.
/// </summary>
public static class DetectionVisualiser
{
    /// <summary>The GIF is for a quick look: its frames are shrunk to this longest side (the JPEGs keep full size).</summary>
    public const int GifFrameSide = 480;

    /// <summary>At most this many frames go into the GIF, 30 seconds at <see cref="GifFrameDelay"/>: its frames are
    /// held in memory until it is written (up to about 0.5 MB each, twice over while encoding); every image still
    /// gets its JPEG.</summary>
    public const int MaxGifFrames = 300;

    public const string GifName = "detections.gif";

    /// <summary>Time between GIF frames: 10 frames a second, watchable for frames sampled from a video.</summary>
    public static readonly TimeSpan GifFrameDelay = TimeSpan.FromMilliseconds(100);

    static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Annotates every image file directly in <paramref name="imagesFolder"/> (by extension, see
    /// <see cref="SafeImageDecoder.IsImageFile"/>) in <see cref="NaturalFileOrder"/>: <c>&lt;name&gt;.jpg</c> in
    /// <paramref name="outputFolder"/> for each (<c>&lt;name&gt;.&lt;ext&gt;.jpg</c> when two inputs share a name), then
    /// <see cref="GifName"/> with the frames in order. A file that cannot be decoded, or that the detector reports
    /// as unreadable (a <see cref="DataFileException"/>), is skipped, logged and counted; other detector errors
    /// propagate. <paramref name="detect"/> is called with each file's path. Only the first
    /// <paramref name="maxGifFrames"/> images go into the GIF.
    /// </summary>
    public static FolderVisualisation AnnotateFolder(Func<string, IReadOnlyList<Detection>> detect, string imagesFolder, string outputFolder,
        IReadOnlyList<string> classNames, double threshold, TextWriter log, SafeImageDecoder? decoder = null, int maxGifFrames = MaxGifFrames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGifFrames, 1);
        ArgumentNullException.ThrowIfNull(detect);
        ArgumentException.ThrowIfNullOrWhiteSpace(imagesFolder);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputFolder);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(log);
        decoder ??= SafeImageDecoder.Default;
        if (!Directory.Exists(imagesFolder)) throw new DirectoryNotFoundException($"{imagesFolder}: no such folder of images");
        string input = Path.GetFullPath(imagesFolder).TrimEnd(Path.DirectorySeparatorChar);
        string output = Path.GetFullPath(outputFolder).TrimEnd(Path.DirectorySeparatorChar);
        // The annotated frame1.jpg would replace the input frame1.jpg.
        if (string.Equals(input, output, StringComparison.Ordinal))
            throw new ArgumentException($"{outputFolder}: the output folder must differ from the images folder (annotated images would overwrite the originals)");

        var files = Directory.EnumerateFiles(imagesFolder).Where(SafeImageDecoder.IsImageFile).Order(NaturalFileOrder.Instance).ToList();
        if (files.Count == 0) log.WriteLine($"{imagesFolder}: no image files ({string.Join(", ", SafeImageDecoder.Extensions)})");
        return AnnotateImages(detect, files, outputFolder, classNames, threshold, log, decoder, maxGifFrames);
    }

    /// <summary>
    /// The same for a list of image files in the given order (the frames of <see cref="AnnotateFolder"/>, or test
    /// images already detected): annotated JPEGs in <paramref name="outputFolder"/> and the GIF of the first
    /// <paramref name="maxGifFrames"/>.
    /// </summary>
    public static FolderVisualisation AnnotateImages(Func<string, IReadOnlyList<Detection>> detect, IReadOnlyList<string> files, string outputFolder,
        IReadOnlyList<string> classNames, double threshold, TextWriter log, SafeImageDecoder? decoder = null, int maxGifFrames = MaxGifFrames)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGifFrames, 1);
        decoder ??= SafeImageDecoder.Default;
        string output = Path.GetFullPath(outputFolder).TrimEnd(Path.DirectorySeparatorChar);
        if (files.Any(file => string.Equals(Path.GetDirectoryName(Path.GetFullPath(file)), output, StringComparison.Ordinal)))
            throw new ArgumentException($"{outputFolder}: the output folder must differ from the images' folder (annotated images would overwrite the originals)");
        var sharedStems = files.GroupBy(file => Path.GetFileNameWithoutExtension(file), StringComparer.OrdinalIgnoreCase)
            .Where(group => group.Count() > 1).Select(group => group.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        Directory.CreateDirectory(output);

        var skipped = new SkippedImages();
        var gifFrames = new List<Image<Rgb24>>();
        int annotated = 0, drawn = 0;
        var encoder = new JpegEncoder { Quality = 90 };
        var clock = Stopwatch.StartNew();
        var lastProgress = TimeSpan.Zero;
        try
        {
            for (int index = 0; index < files.Count; index++)
            {
                string file = files[index];
                Image<Rgb24> image;
                IReadOnlyList<Detection> detections;
                try
                {
                    image = decoder.DecodeImage(file);
                }
                catch (DataFileException error)
                {
                    Skip(skipped, file, error, log);
                    continue;
                }
                using (image)
                {
                    try
                    {
                        detections = detect(file);
                    }
                    catch (DataFileException error)
                    {
                        Skip(skipped, file, error, log);
                        continue;
                    }
                    drawn += detections.Count(detection => detection.Score >= threshold);
                    string stem = Path.GetFileNameWithoutExtension(file);
                    string name = sharedStems.Contains(stem) ? Path.GetFileName(file) : stem;
                    using var picture = DetectionPictures.Draw(image, detections, classNames, threshold);
                    AtomicFile.Write(Path.Combine(output, name + ".jpg"), stream => picture.SaveAsJpeg(stream, encoder));
                    annotated++;
                    if (gifFrames.Count < maxGifFrames) gifFrames.Add(GifFrame(picture));
                }
                if (clock.Elapsed - lastProgress >= ProgressInterval)
                {
                    lastProgress = clock.Elapsed;
                    log.WriteLine($"annotated {annotated} of {files.Count} images ({index + 1 - annotated} skipped so far)");
                }
            }
            string? gifPath = null;
            if (gifFrames.Count > 0)
            {
                gifPath = Path.Combine(output, GifName);
                AnimatedGif.Write(gifPath, gifFrames, GifFrameDelay);
            }
            log.WriteLine($"annotated {annotated} images with {drawn} detections scoring {threshold:0.00} or more into {outputFolder}" +
                          (skipped.Count > 0 ? $"; skipped {skipped.Count} unreadable file{(skipped.Count == 1 ? "" : "s")}" : ""));
            if (gifPath is not null)
                log.WriteLine(gifFrames.Count < annotated
                    ? $"{gifPath}: the first {gifFrames.Count} of {annotated} frames (the rest are in the JPEGs)"
                    : $"{gifPath}: {gifFrames.Count} frame{(gifFrames.Count == 1 ? "" : "s")}");
            return new FolderVisualisation(annotated, drawn, skipped.Items, gifPath, gifFrames.Count);
        }
        finally
        {
            foreach (var frame in gifFrames) frame.Dispose();
        }
    }

    static void Skip(SkippedImages skipped, string file, DataFileException error, TextWriter log)
    {
        skipped.Add(file, error.Message);
        log.WriteLine($"skipped {error.Message}");
    }

    /// <summary>The picture shrunk (never enlarged) to <see cref="GifFrameSide"/> on its longest side.</summary>
    static Image<Rgb24> GifFrame(Image<Rgb24> picture)
    {
        int longest = Math.Max(picture.Width, picture.Height);
        if (longest <= GifFrameSide) return picture.Clone();
        double scale = (double)GifFrameSide / longest;
        return picture.Clone(context => context.Resize(Math.Max(1, (int)Math.Round(picture.Width * scale)), Math.Max(1, (int)Math.Round(picture.Height * scale))));
    }
}

/// <summary>
/// Orders file names as people (and video frame dumps) number them: runs of digits compare by value, so
/// frame2 comes before frame10; other text compares case-insensitively. Ties (frame01 and frame1, Frame1 and
/// frame1) fall back to ordinal order so the result never depends on enumeration order.
/// </summary>
public sealed class NaturalFileOrder : IComparer<string>
{
    public static NaturalFileOrder Instance { get; } = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                int endX = i, endY = j;
                while (endX < x.Length && char.IsAsciiDigit(x[endX])) endX++;
                while (endY < y.Length && char.IsAsciiDigit(y[endY])) endY++;
                // Compare by value without parsing (runs may exceed any integer type): leading zeros
                // stripped, the shorter run is smaller, equal lengths compare digit by digit.
                var digitsX = x.AsSpan(i, endX - i).TrimStart('0');
                var digitsY = y.AsSpan(j, endY - j).TrimStart('0');
                int order = digitsX.Length != digitsY.Length ? digitsX.Length.CompareTo(digitsY.Length) : digitsX.SequenceCompareTo(digitsY);
                if (order != 0) return order;
                i = endX;
                j = endY;
                continue;
            }
            int letters = char.ToUpperInvariant(x[i]).CompareTo(char.ToUpperInvariant(y[j]));
            if (letters != 0) return letters;
            i++;
            j++;
        }
        int remaining = (x.Length - i).CompareTo(y.Length - j);
        return remaining != 0 ? remaining : string.CompareOrdinal(x, y);
    }
}
