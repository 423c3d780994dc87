using Recipes.Mnist;
using Recipes.Runtime.Data;

namespace Recipes.Tests.Mnist;

/// <summary>How MNIST and Fashion-MNIST are found, recognised and explained when something is wrong.</summary>
public sealed class MnistDataSetsTests : IDisposable
{
    readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    string Folder(string name) => Directory.CreateDirectory(folder.File(name)).FullName;

    static void WriteTrain(string path, LabeledImages set) =>
        IdxWriter.WriteDataset(set, Path.Combine(path, "train-images-idx3-ubyte.gz"), Path.Combine(path, "train-labels-idx1-ubyte.gz"), gzip: true);

    static void WriteTest(string path, LabeledImages set) =>
        IdxWriter.WriteDataset(set, Path.Combine(path, "t10k-images-idx3-ubyte.gz"), Path.Combine(path, "t10k-labels-idx1-ubyte.gz"), gzip: true);

    [Fact]
    public void A_partly_missing_set_names_each_missing_file_and_what_is_there()
    {
        string data = Folder("partial");
        WriteTrain(data, GeneratedDigits.Create(20, seed: 1));
        File.Copy(Path.Combine(data, "train-images-idx3-ubyte.gz"), Path.Combine(data, "t10k-images-idx3-ubyte.gz"));

        var error = Assert.Throws<DataFileException>(() => MnistDataSets.Resolve(MnistVariant.Digits, data, folder.File("cache"), offline: true, seed: 1, TextWriter.Null));
        Assert.Equal(data, error.FilePath);
        Assert.Contains("missing t10k-labels-idx1-ubyte.gz (or t10k-labels-idx1-ubyte)", error.Problem);
        Assert.DoesNotContain("missing train", error.Problem);
        Assert.Contains("found train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz", error.Problem);

        var empty = Assert.Throws<DataFileException>(() => MnistDataSets.Resolve(MnistVariant.Digits, Folder("empty"), folder.File("cache"), offline: true, seed: 1, TextWriter.Null));
        Assert.StartsWith("no MNIST IDX files here", empty.Problem);
    }

    [Fact]
    public void Scoring_needs_only_the_test_files()
    {
        string data = Folder("new-data");
        WriteTest(data, GeneratedDigits.Create(30, seed: 2));

        var test = MnistDataSets.ResolveTest(MnistVariant.Digits, data, folder.File("cache"), offline: true, seed: 1, TextWriter.Null);
        Assert.Equal(30, test.Test.Count);
        Assert.Equal(DataSourceKind.Local, test.Source);
        Assert.Equal("MNIST", test.Name);
        Assert.Equal(MnistDataSets.DigitNames, test.LabelNames);

        // Training needs the training files, and says which.
        var error = Assert.Throws<DataFileException>(() => MnistDataSets.Resolve(MnistVariant.Digits, data, folder.File("cache"), offline: true, seed: 1, TextWriter.Null));
        Assert.Contains("missing train-images-idx3-ubyte.gz (or train-images-idx3-ubyte), train-labels-idx1-ubyte.gz (or train-labels-idx1-ubyte)", error.Problem);
        var noTest = Assert.Throws<DataFileException>(() => MnistDataSets.ResolveTest(MnistVariant.Digits, Folder("none"), folder.File("cache"), offline: true, seed: 1, TextWriter.Null));
        Assert.Contains("t10k-images-idx3-ubyte", noTest.Problem);
    }

    [Fact]
    public void The_official_Fashion_MNIST_files_are_recognised_without_the_dataset_option()
    {
        if (MnistFiles.Find(MnistDataSets.DebianFashionFolder) is null) return; // dataset-fashion-mnist is not installed

        var log = new StringWriter();
        var data = MnistDataSets.Resolve(MnistVariant.Digits, MnistDataSets.DebianFashionFolder, folder.File("cache"), offline: true, seed: 1, log);
        Assert.Equal("Fashion-MNIST", data.Name);
        Assert.Equal(MnistDataSets.FashionNames, data.LabelNames);
        Assert.Contains("holds Fashion-MNIST", log.ToString());
        Assert.Contains("--dataset fashion", log.ToString());
        Assert.True(MnistIdentity.HasFashionLabels(data.Train));

        var test = MnistDataSets.ResolveTest(MnistVariant.Digits, MnistDataSets.DebianFashionFolder, folder.File("cache"), offline: true, seed: 1, TextWriter.Null);
        Assert.Equal(("Fashion-MNIST", 10_000), (test.Name, test.Test.Count));
        Assert.Equal("Ankle boot", test.LabelNames[9]);
        Assert.InRange(MnistIdentity.MeanPixel(test.Test), 0.28, 0.29);

        // Asked for by name, nothing needs saying.
        var asked = new StringWriter();
        MnistDataSets.ResolveTest(MnistVariant.Fashion, MnistDataSets.DebianFashionFolder, folder.File("cache"), offline: true, seed: 1, asked);
        Assert.Equal("", asked.ToString());
    }

    [Fact]
    public void Unknown_files_that_look_like_the_other_data_set_get_a_warning()
    {
        var digits = GeneratedDigits.Create(200, seed: 3);
        Assert.True(MnistIdentity.MeanPixel(digits) < MnistIdentity.FashionLikeMeanPixel, $"generated digits average {MnistIdentity.MeanPixel(digits)}");
        Assert.False(MnistIdentity.HasFashionLabels(digits));
        string digitFolder = Folder("digits");
        WriteTest(digitFolder, digits);
        var quiet = new StringWriter();
        Assert.Equal("MNIST", MnistDataSets.ResolveTest(MnistVariant.Digits, digitFolder, folder.File("cache"), offline: true, seed: 1, quiet).Name);
        Assert.Equal("", quiet.ToString());

        // The same shapes, brightened to Fashion-MNIST's average: clothes-like pixels under digit names.
        byte[] bright = digits.Pixels.Select(p => (byte)Math.Min(255, p + 90)).ToArray();
        string brightFolder = Folder("bright");
        WriteTest(brightFolder, new LabeledImages(bright, digits.Labels, digits.Height, digits.Width, 10));
        var warned = new StringWriter();
        MnistDataSets.ResolveTest(MnistVariant.Digits, brightFolder, folder.File("cache"), offline: true, seed: 1, warned);
        Assert.Contains("like Fashion-MNIST", warned.ToString());
        Assert.Contains("--dataset fashion", warned.ToString());

        var digitsAsFashion = new StringWriter();
        MnistDataSets.ResolveTest(MnistVariant.Fashion, digitFolder, folder.File("cache"), offline: true, seed: 1, digitsAsFashion);
        Assert.Contains("like MNIST digits", digitsAsFashion.ToString());
    }

    [Fact]
    public void A_cached_file_that_fails_its_checksum_is_reported_and_removed_before_falling_back()
    {
        string cache = folder.File("cache");
        string mnistCache = Directory.CreateDirectory(Path.Combine(cache, "mnist")).FullName;
        string damaged = Path.Combine(mnistCache, MnistDownloads.TrainLabels.FileName);
        File.WriteAllBytes(damaged, [1, 2, 3]);

        var log = new StringWriter();
        var data = MnistDataSets.Resolve(MnistVariant.Digits, null, cache, offline: true, seed: 1, log);
        Assert.Equal(DataSourceKind.Generated, data.Source);
        string said = log.ToString();
        Assert.Contains($"The cached {damaged} fails its checksum", said);
        Assert.Contains($"expected {MnistDownloads.TrainLabels.Sha256}", said);
        Assert.Contains("got 039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81", said); // SHA-256 of 01 02 03
        Assert.Contains("removed it", said);
        Assert.False(File.Exists(damaged));
        // And why there is no real data: nothing verified in the cache, no download allowed.
        Assert.Contains("--offline allows no download", said);
        Assert.Contains("GENERATED", said);
    }
}
