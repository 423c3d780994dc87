namespace Recipes.Mnist;

/// <summary>
/// The two IDX layouts MNIST-style data sets use. The magic number is 0x0000TTDD: TT = 0x08 for
/// unsigned bytes, DD = number of dimensions; every size after it is a big-endian int32.
/// </summary>
static class IdxFormat
{
    public const int ImagesMagic = 0x00000803; // 2051: unsigned bytes, 3 dimensions (count, rows, cols)
    public const int LabelsMagic = 0x00000801; // 2049: unsigned bytes, 1 dimension (count)
    public const int ImagesHeaderLength = 16;
    public const int LabelsHeaderLength = 8;

    static readonly byte[] GzipSignature = [0x1f, 0x8b];

    public static bool StartsWithGzipSignature(ReadOnlySpan<byte> firstBytes) => firstBytes.StartsWith(GzipSignature);

    /// <summary>Says what a magic number means, so a wrong file can be recognised from the error.</summary>
    public static string DescribeMagic(int magic)
    {
        if (magic == ImagesMagic) return $"{magic} (0x{magic:x8}, an IDX images file)";
        if (magic == LabelsMagic) return $"{magic} (0x{magic:x8}, an IDX labels file)";
        if ((magic & unchecked((int)0xffff0000)) == 0)
            return $"{magic} (0x{magic:x8}, an IDX file of element type 0x{(magic >> 8) & 0xff:x2} with {magic & 0xff} dimensions)";
        return $"{magic} (0x{magic:x8}, not an IDX file)";
    }
}
