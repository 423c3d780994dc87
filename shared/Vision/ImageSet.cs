using Recipes.Runtime.Data;

namespace Recipes.Runtime.Vision;

/// <summary>
/// One image of a set: where it comes from (a file path, or a name for in-memory bytes) and its class label
/// (<see cref="Unlabelled"/> when there is none).
/// </summary>
public sealed record ImageEntry(string Origin, int Label = ImageEntry.Unlabelled)
{
    public const int Unlabelled = -1;

    /// <summary>The encoded image when it is held in memory rather than read from <see cref="Origin"/>.</summary>
    public byte[]? EncodedBytes { get; init; }

    /// <summary>Decodes this entry with <paramref name="decoder"/> (a <see cref="DataFileException"/> when it is unusable).</summary>
    public RgbFrame Decode(SafeImageDecoder decoder) =>
        EncodedBytes is null ? decoder.Decode(Origin) : decoder.Decode(EncodedBytes, Origin);

    /// <summary>The checked, decoded ImageSharp image (the caller disposes it).</summary>
    public SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb24> DecodeImage(SafeImageDecoder decoder) =>
        EncodedBytes is null ? decoder.DecodeImage(Origin) : decoder.DecodeImage(EncodedBytes, Origin);
}

/// <summary>
/// An ordered list of images to decode, with the class names their labels index (the seed's ImageSet: read one
/// image, a local folder, or a partition of a set for one worker). Listing reads no pixels: decoding happens in
/// the pipeline, where bad files are counted and skipped.
/// </summary>
public sealed class ImageSet
{
    readonly ImageEntry[] _entries;

    public ImageSet(IEnumerable<ImageEntry> entries, IReadOnlyList<string>? classNames = null)
    {
        _entries = [.. entries];
        ClassNames = classNames ?? [];
        foreach (var entry in _entries)
            if (entry.Label != ImageEntry.Unlabelled && (entry.Label < 0 || entry.Label >= ClassNames.Count))
                throw new ArgumentException($"{entry.Origin}: label {entry.Label} is not one of the {ClassNames.Count} classes");
    }

    public IReadOnlyList<ImageEntry> Entries => _entries;
    public IReadOnlyList<string> ClassNames { get; }
    public int Count => _entries.Length;
    public ImageEntry this[int index] => _entries[index];

    /// <summary>One image file.</summary>
    public static ImageSet FromFile(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no such image file");
        return new ImageSet([new ImageEntry(Path.GetFullPath(path))]);
    }

    /// <summary>
    /// Every image file under <paramref name="folder"/> and its subfolders, in ordinal path order (the same on
    /// every machine). With <paramref name="labelsFromParentFolder"/>, each image's class is the name of the
    /// folder it sits in (cats-dogs/train/cats/1.jpg is "cats"), classes numbered in ordinal name order.
    /// Files with other extensions (LICENSE, .txt) are ignored.
    /// </summary>
    public static ImageSet FromFolder(string folder, bool labelsFromParentFolder = false)
    {
        if (!Directory.Exists(folder)) throw new DataFileException(folder, "no such image folder");
        string[] files = Directory.EnumerateFiles(Path.GetFullPath(folder), "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
            .Where(SafeImageDecoder.IsImageFile)
            .Order(StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
            throw new DataFileException(folder, $"no image files ({string.Join(", ", SafeImageDecoder.Extensions)}) in the folder or its subfolders");
        if (!labelsFromParentFolder) return new ImageSet(files.Select(file => new ImageEntry(file)));
        string ParentName(string file) => Path.GetFileName(Path.GetDirectoryName(file)!);
        string[] classes = files.Select(ParentName).Distinct().Order(StringComparer.Ordinal).ToArray();
        var index = classes.Select((name, i) => (name, i)).ToDictionary(pair => pair.name, pair => pair.i);
        return new ImageSet(files.Select(file => new ImageEntry(file, index[ParentName(file)])), classes);
    }

    /// <summary>
    /// Partition <paramref name="partition"/> of <paramref name="partitionCount"/>: every partitionCount-th image
    /// starting at partition, so partitions differ in size by at most one and together hold every image once.
    /// </summary>
    public ImageSet Partition(int partition, int partitionCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        if (partition < 0 || partition >= partitionCount) throw new ArgumentOutOfRangeException(nameof(partition), partition, $"partition must be in 0..{partitionCount - 1}");
        return new ImageSet(_entries.Where((_, i) => i % partitionCount == partition), ClassNames);
    }

    /// <summary>A seeded random split: about <paramref name="firstFraction"/> of the images in the first set, the rest in the second.</summary>
    public (ImageSet First, ImageSet Second) Split(double firstFraction, int seed)
    {
        if (!(firstFraction is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(firstFraction), firstFraction, "a fraction is between 0 and 1");
        int[] order = Enumerable.Range(0, Count).ToArray();
        new Random(seed).Shuffle(order);
        int firstCount = (int)Math.Round(Count * firstFraction);
        // Each part keeps the set's own order, so listings stay readable.
        var first = order.Take(firstCount).Order().Select(i => _entries[i]);
        var second = order.Skip(firstCount).Order().Select(i => _entries[i]);
        return (new ImageSet(first, ClassNames), new ImageSet(second, ClassNames));
    }

    /// <summary>The first <paramref name="count"/> images (all when there are fewer).</summary>
    public ImageSet Take(int count) => count >= Count ? this : new ImageSet(_entries.Take(count), ClassNames);
}
