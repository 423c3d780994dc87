using Recipes.Runtime.Data.Download;

namespace Recipes.Mnist;

/// <summary>
/// The four MNIST files (LeCun, Cortes, Burges) on the mirror PyTorch uses, with the SHA-256 and sizes that
/// TensorFlow Datasets records for them (tensorflow_datasets/url_checksums/mnist.txt).
/// </summary>
public static class MnistDownloads
{
    public static readonly Uri Mirror = new("https://ossci-datasets.s3.amazonaws.com/mnist/");

    /// <summary>9,912,422 bytes.</summary>
    public static RemoteFile TrainImages { get; } =
        At("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609");

    /// <summary>28,881 bytes.</summary>
    public static RemoteFile TrainLabels { get; } =
        At("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c");

    /// <summary>1,648,877 bytes.</summary>
    public static RemoteFile TestImages { get; } =
        At("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6");

    /// <summary>4,542 bytes.</summary>
    public static RemoteFile TestLabels { get; } =
        At("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6");

    public static IReadOnlyList<RemoteFile> All { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];

    static RemoteFile At(string fileName, string sha256) => new(new Uri(Mirror, fileName), fileName, sha256);
}
