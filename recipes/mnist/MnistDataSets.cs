using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.Mnist;

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

/// <summary>A test set alone (what scoring a trained model needs), with where it came from.</summary>
public sealed record MnistTestSet(LabeledImages Test, DataSourceKind Source, string Name, string Description, IReadOnlyList<string> LabelNames);

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
        string name = NameOf(variant);
        var labelNames = variant == MnistVariant.Digits ? DigitNames : FashionNames;

        // 1. A local copy in the original format; its content, not the --dataset option, decides what it is.
        if (localPath is not null)
        {
            if (MnistFiles.DescribeMissing(localPath, AllFiles, name) is { } missing) throw new DataFileException(localPath, missing);
            var files = MnistFiles.Find(localPath)!.Value;
            var local = Read(files, name, DataSourceKind.Local, $"{name} from {localPath}") with { LabelNames = labelNames };
            var (identified, identifiedNames) = Identify(variant, local.Test, localPath, log);
            return local with { Name = identified, Description = $"{identified} from {localPath}", LabelNames = identifiedNames };
        }
        if (variant == MnistVariant.Fashion && MnistFiles.Find(DebianFashionFolder) is { } packaged)
            return Read(packaged, name, DataSourceKind.Local, $"{name} from {DebianFashionFolder} (Debian package dataset-fashion-mnist)") with { LabelNames = labelNames };

        // 2. The cache, when every file is there with its checksum verified (a damaged copy is reported and
        //    removed); 3. a download.
        var remote = RemoteFiles(variant);
        var downloader = new Downloader(Path.Combine(cacheFolder, "mnist"));
        string?[] cached = remote.Select(file => downloader.FindVerified(file, log)).ToArray();
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
        else
        {
            string[] absent = remote.Where((_, i) => cached[i] is null).Select(file => file.FileName).ToArray();
            log.WriteLine($"{name} is not in the cache {downloader.CacheFolderPath} (no verified {string.Join(", ", absent)}) and --offline allows no download.");
        }

        // 4. Generated digits of MNIST's shape. The training set follows --seed; the test set is always the
        //    same, so runs with different seeds are measured on the same images.
        log.WriteLine($"Using GENERATED handwritten-style digits (not {name}): {GeneratedTrainCount:N0} training and {GeneratedTestCount:N0} test images, seed {seed}.");
        return new MnistData(
            GeneratedDigits.Create(GeneratedTrainCount, seed),
            GeneratedDigits.Create(GeneratedTestCount, GeneratedTestSeed),
            DataSourceKind.Generated, "generated digits", $"generated digits (seed {seed})");
    }

    /// <summary>
    /// The test set alone, for scoring a trained model on new data: a <paramref name="localPath"/> folder needs
    /// only <c>t10k-images</c> and <c>t10k-labels</c>; otherwise the data of <see cref="Resolve"/>.
    /// </summary>
    public static MnistTestSet ResolveTest(MnistVariant variant, string? localPath, string cacheFolder, bool offline, int seed, TextWriter log)
    {
        if (localPath is null)
        {
            var data = Resolve(variant, localPath, cacheFolder, offline, seed, log);
            return new MnistTestSet(data.Test, data.Source, data.Name, data.Description, data.LabelNames);
        }
        string name = NameOf(variant);
        if (MnistFiles.DescribeMissing(localPath, TestFiles, name) is { } missing) throw new DataFileException(localPath, missing);
        var (testImages, testLabels) = MnistFiles.FindTest(localPath)!.Value;
        var test = IdxReader.ReadDataset(testImages, testLabels);
        var (identified, labelNames) = Identify(variant, test, localPath, log);
        return new MnistTestSet(test, DataSourceKind.Local, identified, $"{identified} test files from {localPath}", labelNames);
    }

    static readonly IReadOnlyList<string> AllFiles = [MnistFiles.TrainImages, MnistFiles.TrainLabels, MnistFiles.TestImages, MnistFiles.TestLabels];
    static readonly IReadOnlyList<string> TestFiles = [MnistFiles.TestImages, MnistFiles.TestLabels];

    static string NameOf(MnistVariant variant) => variant == MnistVariant.Digits ? "MNIST" : "Fashion-MNIST";

    /// <summary>
    /// What a local set is, whatever --dataset said: the official Fashion-MNIST labels make it Fashion-MNIST
    /// (said on the log, so clothes are never reported with digit names); otherwise the variant asked for, with
    /// a warning when its pixels look like the other data set's.
    /// </summary>
    static (string Name, IReadOnlyList<string> LabelNames) Identify(MnistVariant variant, LabeledImages test, string folder, TextWriter log)
    {
        if (MnistIdentity.HasFashionLabels(test))
        {
            if (variant != MnistVariant.Fashion)
                log.WriteLine($"{folder} holds Fashion-MNIST (its test labels are the official Fashion-MNIST ones, SHA-256 {MnistIdentity.FashionTestLabelsSha256[..12]}...): " +
                              "using Fashion-MNIST and its class names. Pass --dataset fashion to say so.");
            return ("Fashion-MNIST", FashionNames);
        }
        double mean = MnistIdentity.MeanPixel(test);
        if (variant == MnistVariant.Digits && mean > MnistIdentity.FashionLikeMeanPixel)
            log.WriteLine($"Warning: the images in {folder} average {mean:F3} of white, like Fashion-MNIST (0.286) rather than MNIST digits (0.131); " +
                          "if they are clothes, pass --dataset fashion for their class names.");
        else if (variant == MnistVariant.Fashion && mean < MnistIdentity.FashionLikeMeanPixel)
            log.WriteLine($"Warning: the images in {folder} average {mean:F3} of white, like MNIST digits (0.131) rather than Fashion-MNIST (0.286); " +
                          "if they are digits, leave out --dataset fashion.");
        return (NameOf(variant), variant == MnistVariant.Digits ? DigitNames : FashionNames);
    }

    static MnistData Read((string TrainImages, string TrainLabels, string TestImages, string TestLabels) files, string name, DataSourceKind source, string description) =>
        new(IdxReader.ReadDataset(files.TrainImages, files.TrainLabels), IdxReader.ReadDataset(files.TestImages, files.TestLabels), source, name, description);

    static (string, string, string, string) ToFiles(IReadOnlyList<string> paths) => (paths[0], paths[1], paths[2], paths[3]);

    /// <summary>The official files, in the order train images, train labels, test images, test labels.</summary>
    public static IReadOnlyList<RemoteFile> RemoteFiles(MnistVariant variant) =>
        variant == MnistVariant.Digits ? MnistDownloads.All : FashionMnistDownloads.All;
}
