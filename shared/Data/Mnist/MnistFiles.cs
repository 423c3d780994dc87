namespace Recipes.Runtime.Data.Mnist;

/// <summary>
/// The standard file names of MNIST and Fashion-MNIST (both use the same four names). Copies found
/// in the wild come gzipped or unpacked, and some write ".idx3-ubyte" with a dot instead of a dash.
/// </summary>
public static class MnistFiles
{
    public const string TrainImages = "train-images-idx3-ubyte";
    public const string TrainLabels = "train-labels-idx1-ubyte";
    public const string TestImages = "t10k-images-idx3-ubyte";
    public const string TestLabels = "t10k-labels-idx1-ubyte";

    /// <summary>The names to download from the official mirrors, which serve gzipped files.</summary>
    public static IReadOnlyList<string> GzippedNames { get; } =
        [TrainImages + ".gz", TrainLabels + ".gz", TestImages + ".gz", TestLabels + ".gz"];

    /// <summary>
    /// The four files in <paramref name="folder"/>, each under any accepted spelling of its name,
    /// or null when any of them is missing. An unpacked file wins over a gzipped one.
    /// </summary>
    public static (string trainImages, string trainLabels, string testImages, string testLabels)? Find(string folder)
    {
        if (!Directory.Exists(folder)) return null;
        string? trainImages = FindOne(folder, TrainImages);
        string? trainLabels = FindOne(folder, TrainLabels);
        string? testImages = FindOne(folder, TestImages);
        string? testLabels = FindOne(folder, TestLabels);
        if (trainImages is null || trainLabels is null || testImages is null || testLabels is null) return null;
        return (trainImages, trainLabels, testImages, testLabels);
    }

    /// <summary>The file for one standard name, trying "name", "name.gz" and the dotted spellings.</summary>
    public static string? FindOne(string folder, string standardName)
    {
        foreach (string name in Spellings(standardName))
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    static IEnumerable<string> Spellings(string standardName)
    {
        // "train-images-idx3-ubyte" is also seen as "train-images.idx3-ubyte".
        int lastDash = standardName.LastIndexOf("-idx", StringComparison.Ordinal);
        string dotted = standardName[..lastDash] + "." + standardName[(lastDash + 1)..];
        yield return standardName;
        yield return standardName + ".gz";
        yield return dotted;
        yield return dotted + ".gz";
    }
}
