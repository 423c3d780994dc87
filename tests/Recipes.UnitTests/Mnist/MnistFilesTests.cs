using Recipes.Mnist;

namespace Recipes.Tests.Mnist;

public sealed class MnistFilesTests : IDisposable
{
    readonly TemporaryFolder folder = new();

    public void Dispose() => folder.Dispose();

    void Touch(params string[] names)
    {
        foreach (string name in names) File.WriteAllBytes(folder.File(name), [0]);
    }

    [Fact]
    public void Finds_the_gzipped_files_as_the_mirrors_serve_them()
    {
        Touch("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

        var found = MnistFiles.Find(folder.Path);

        Assert.NotNull(found);
        Assert.Equal(folder.File("train-images-idx3-ubyte.gz"), found.Value.trainImages);
        Assert.Equal(folder.File("train-labels-idx1-ubyte.gz"), found.Value.trainLabels);
        Assert.Equal(folder.File("t10k-images-idx3-ubyte.gz"), found.Value.testImages);
        Assert.Equal(folder.File("t10k-labels-idx1-ubyte.gz"), found.Value.testLabels);
    }

    [Fact]
    public void Finds_unpacked_and_dotted_spellings_mixed_and_prefers_unpacked_files()
    {
        Touch("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz", "train-labels.idx1-ubyte", "t10k-images.idx3-ubyte.gz", "t10k-labels-idx1-ubyte");

        var found = MnistFiles.Find(folder.Path);

        Assert.NotNull(found);
        Assert.Equal(folder.File("train-images-idx3-ubyte"), found.Value.trainImages);
        Assert.Equal(folder.File("train-labels.idx1-ubyte"), found.Value.trainLabels);
        Assert.Equal(folder.File("t10k-images.idx3-ubyte.gz"), found.Value.testImages);
        Assert.Equal(folder.File("t10k-labels-idx1-ubyte"), found.Value.testLabels);
    }

    [Fact]
    public void Any_missing_file_means_nothing_is_found()
    {
        Touch("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz");

        Assert.Null(MnistFiles.Find(folder.Path));
        Assert.Null(MnistFiles.Find(folder.File("no-such-folder")));
        Assert.Null(MnistFiles.FindOne(folder.Path, MnistFiles.TestLabels));
    }

    [Fact]
    public void The_download_names_are_the_four_standard_names_gzipped()
    {
        Assert.Equal(
            new[] { "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" },
            MnistFiles.GzippedNames);
    }
}
