using Recipes.Runtime.Data.Download;

namespace Recipes.Runtime.Data.Mnist;

/// <summary>Which of the two 28x28, 10-class IDX data sets to use.</summary>
public enum MnistVariant
{
    /// <summary>MNIST handwritten digits (LeCun, Cortes, Burges).</summary>
    Digits,
    /// <summary>Fashion-MNIST clothing images (Zalando Research), a drop-in replacement that is harder.</summary>
    Fashion,
}

/// <summary>A resolved train/test pair, with where it came from.</summary>
public sealed record MnistData(LabeledImages Train, LabeledImages Test, DataSourceKind Source, string Name, string Description)
{
    public IReadOnlyList<string> LabelNames { get; init; } = MnistDataSets.DigitNames;
}

/// <summary>
/// Finds MNIST or Fashion-MNIST in the order of DESIGN.md section 5: <c>--data</c>, the Debian package
/// folder (Fashion-MNIST), the verified download cache, a download, and finally generated digits.
/// </summary>
public static class MnistDataSets
{
    public static readonly IReadOnlyList<string> DigitNames = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    public static readonly IReadOnlyList<string> FashionNames =
        ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>Where Debian's and Ubuntu's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DebianFashionFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>Training and test sizes of the generated stand-in: those of MNIST.</summary>
    public const int GeneratedTrainCount = 60_000, GeneratedTestCount = 10_000;

    /// <summary>Seed of the generated test set (fixed; far from the small seeds used for training sets).</summary>
    public const int GeneratedTestSeed = 1_000_003;

    public static MnistData Resolve(MnistVariant variant, string? localPath, string cacheFolder, bool offline, int seed, TextWriter log)
    {
        string name = variant == MnistVariant.Digits ? "MNIST" : "Fashion-MNIST";
        var labelNames = variant == MnistVariant.Digits ? DigitNames : FashionNames;

        // 1. A local copy in the original format.
        if (localPath is not null)
        {
            var files = MnistFiles.Find(localPath)
                        ?? throw new DataFileException(localPath, $"no {name} IDX files here (expected {string.Join(", ", MnistFiles.GzippedNames)} or the same without .gz)");
            return Read(files, name, DataSourceKind.Local, $"{name} from {localPath}") with { LabelNames = labelNames };
        }
        if (variant == MnistVariant.Fashion && MnistFiles.Find(DebianFashionFolder) is { } packaged)
            return Read(packaged, name, DataSourceKind.Local, $"{name} from {DebianFashionFolder} (Debian package dataset-fashion-mnist)") with { LabelNames = labelNames };

        // 2. The cache, when every file is there with its checksum verified; 3. a download.
        var remote = RemoteFiles(variant);
        var downloader = new Downloader(Path.Combine(cacheFolder, "mnist"));
        string?[] cached = remote.Select(downloader.FindVerified).ToArray();
        if (cached.All(path => path is not null))
            return Read(ToFiles(cached!), name, DataSourceKind.Cache, $"{name} from the cache {downloader.CacheFolderPath}") with { LabelNames = labelNames };
        if (!offline)
        {
            try
            {
                string[] downloaded = remote.Select(file => ConsoleDownloadProgress.FetchAsync(file, downloader.CacheFolderPath).GetAwaiter().GetResult()).ToArray();
                return Read(ToFiles(downloaded), name, DataSourceKind.Download, $"{name} downloaded to {downloader.CacheFolderPath}") with { LabelNames = labelNames };
            }
            catch (Exception error) when (error is DownloadFailedException or DataFileException)
            {
                // Unreachable servers are the normal offline case; a checksum mismatch left nothing in the cache.
                log.WriteLine($"Could not download {name} ({error.Message}); falling back to generated digits.");
            }
        }

        // 4. Generated digits of MNIST's shape. The training set follows --seed; the test set is always the
        //    same, so runs with different seeds are measured on the same images.
        log.WriteLine($"Using GENERATED handwritten-style digits (not {name}): {GeneratedTrainCount:N0} training and {GeneratedTestCount:N0} test images, seed {seed}.");
        return new MnistData(
            GeneratedDigits.Create(GeneratedTrainCount, seed),
            GeneratedDigits.Create(GeneratedTestCount, GeneratedTestSeed),
            DataSourceKind.Generated, "generated digits", $"generated digits (seed {seed})");
    }

    static MnistData Read((string TrainImages, string TrainLabels, string TestImages, string TestLabels) files, string name, DataSourceKind source, string description) =>
        new(IdxReader.ReadDataset(files.TrainImages, files.TrainLabels), IdxReader.ReadDataset(files.TestImages, files.TestLabels), source, name, description);

    static (string, string, string, string) ToFiles(IReadOnlyList<string> paths) => (paths[0], paths[1], paths[2], paths[3]);

    /// <summary>The official files, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<RemoteFile> RemoteFiles(MnistVariant variant) =>
        variant == MnistVariant.Digits ? MnistDownloads.All : FashionMnistDownloads.All;
}
