using Recipes.Runtime.Data.Download;

namespace Recipes.Mnist;

/// <summary>
/// The four Fashion-MNIST files (Zalando Research) at their official location, with the SHA-256 and sizes
/// that TensorFlow Datasets records for them (tensorflow_datasets/url_checksums/fashion_mnist.txt). They are
/// cached under a "fashion-mnist-" prefix because their names are the same as MNIST's.
/// </summary>
public static class FashionMnistDownloads
{
    public static readonly Uri Mirror = new("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");
    public const string CachePrefix = "fashion-mnist-";

    /// <summary>26,421,880 bytes.</summary>
    public static RemoteFile TrainImages { get; } =
        At("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84");

    /// <summary>29,515 bytes.</summary>
    public static RemoteFile TrainLabels { get; } =
        At("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845");

    /// <summary>4,422,102 bytes.</summary>
    public static RemoteFile TestImages { get; } =
        At("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073");

    /// <summary>5,148 bytes.</summary>
    public static RemoteFile TestLabels { get; } =
        At("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5");

    public static IReadOnlyList<RemoteFile> All { get; } = [TrainImages, TrainLabels, TestImages, TestLabels];

    static RemoteFile At(string fileName, string sha256) => new(new Uri(Mirror, fileName), CachePrefix + fileName, sha256);
}
