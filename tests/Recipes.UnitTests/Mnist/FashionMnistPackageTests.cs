using Recipes.Mnist;

namespace Recipes.Tests.Mnist;

/// <summary>
/// Reads the real Fashion-MNIST files when Debian's dataset-fashion-mnist package is installed
/// (it puts the four gzipped files in /usr/share/datasets/fashion-mnist); otherwise there is nothing to check.
/// </summary>
public class FashionMnistPackageTests
{
    const string PackageFolder = "/usr/share/datasets/fashion-mnist";

    [Fact]
    public void The_packaged_Fashion_MNIST_files_read_as_balanced_28x28_data_sets()
    {
        var files = MnistFiles.Find(PackageFolder);
        if (files is null) return;

        var test = IdxReader.ReadDataset(files.Value.testImages, files.Value.testLabels);
        Assert.Equal((10_000, 28, 28), (test.Count, test.Height, test.Width));
        // Fashion-MNIST has exactly 1,000 test and 6,000 training images per class.
        Assert.All(Enumerable.Range(0, 10), label => Assert.Equal(1_000, test.Labels.Count(l => l == label)));
        Assert.Contains(test.Pixels, pixel => pixel == 255);

        byte[] trainLabels = IdxReader.ReadLabels(files.Value.trainLabels);
        Assert.Equal(60_000, trainLabels.Length);
        Assert.All(Enumerable.Range(0, 10), label => Assert.Equal(6_000, trainLabels.Count(l => l == label)));
        var (_, trainCount, rows, cols) = IdxReader.ReadImages(files.Value.trainImages);
        Assert.Equal((60_000, 28, 28), (trainCount, rows, cols));
    }
}
