using System.Security.Cryptography;

namespace Recipes.Mnist;

/// <summary>
/// Tells Fashion-MNIST from MNIST by content, since both use the same four file names and the same format.
/// Certain for the official files: the SHA-256 of a labels file's 10,000 or 60,000 label bytes (after the
/// 8-byte header, so gzipped or not, whatever the gzip header) is that of Fashion-MNIST's published labels.
/// A hint otherwise: Fashion-MNIST's pixels average about 0.286 of white (half the pixels are lit), MNIST's
/// 0.131 (a fifth lit); a set averaging above <see cref="FashionLikeMeanPixel"/> looks like clothes.
/// </summary>
public static class MnistIdentity
{
    /// <summary>SHA-256 of the label bytes of Fashion-MNIST's t10k (test) labels, from the official files.</summary>
    public const string FashionTestLabelsSha256 = "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9";

    /// <summary>SHA-256 of the label bytes of Fashion-MNIST's training labels, from the official files.</summary>
    public const string FashionTrainLabelsSha256 = "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7";

    /// <summary>Mean pixel (0..1) above which a set looks like Fashion-MNIST (0.286) rather than MNIST (0.131) or KMNIST (0.19).</summary>
    public const double FashionLikeMeanPixel = 0.24;

    /// <summary>True when the labels of <paramref name="set"/> are exactly the official Fashion-MNIST training or test labels.</summary>
    public static bool HasFashionLabels(LabeledImages set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Count is not (10_000 or 60_000)) return false;
        string digest = Convert.ToHexStringLower(SHA256.HashData(set.Labels));
        return digest is FashionTestLabelsSha256 or FashionTrainLabelsSha256;
    }

    /// <summary>The mean pixel of the set on a 0..1 scale.</summary>
    public static double MeanPixel(LabeledImages set)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (set.Pixels.Length == 0) return 0;
        long sum = 0;
        foreach (byte pixel in set.Pixels) sum += pixel;
        return sum / 255.0 / set.Pixels.Length;
    }
}
