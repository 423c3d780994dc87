using Recipes.Mnist;
using Recipes.Runtime.Data.Download;

namespace Recipes.Tests.Mnist;

public class MnistDownloadsTests
{
    [Fact]
    public void MNIST_and_Fashion_MNIST_files_are_well_formed_and_never_share_a_cache_name()
    {
        RemoteFile[] all = [.. MnistDownloads.All, .. FashionMnistDownloads.All];

        Assert.Equal(8, all.Select(file => file.FileName).Distinct().Count());
        Assert.Equal(8, all.Select(file => file.Sha256).Distinct().Count());
        Assert.All(all, file => Assert.EndsWith(file.FileName.Replace(FashionMnistDownloads.CachePrefix, ""), file.Url.AbsolutePath));
        Assert.Equal("https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz", MnistDownloads.TrainImages.Url.ToString());
    }
}
