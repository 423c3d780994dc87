namespace Recipes.Mnist;

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

    /// <summary>The test pair alone (all that scoring a trained model needs), or null when either is missing.</summary>
    public static (string testImages, string testLabels)? FindTest(string folder)
    {
        if (!Directory.Exists(folder)) return null;
        string? testImages = FindOne(folder, TestImages);
        string? testLabels = FindOne(folder, TestLabels);
        if (testImages is null || testLabels is null) return null;
        return (testImages, testLabels);
    }

    /// <summary>
    /// Why <paramref name="folder"/> does not hold the files <paramref name="needed"/> (standard names): each missing
    /// one named with the spellings tried, and the ones that are there; null when none is missing.
    /// </summary>
    public static string? DescribeMissing(string folder, IReadOnlyList<string> needed, string dataSetName)
    {
        string[] missing = needed.Where(name => FindOne(folder, name) is null).ToArray();
        if (missing.Length == 0) return null;
        string[] found = needed.Select(name => FindOne(folder, name)).OfType<string>().Select(Path.GetFileName).OfType<string>().ToArray();
        if (found.Length == 0)
            return $"no {dataSetName} IDX files here (expected {string.Join(", ", needed.Select(name => name + ".gz"))} or the same without .gz)";
        return $"{dataSetName} IDX files incomplete: missing {string.Join(", ", missing.Select(name => $"{name}.gz (or {name})"))}; " +
               $"found {string.Join(", ", found)}";
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
