using Recipes.Runtime.Data;

namespace Recipes.ObjectDetection;

/// <summary>
/// The data a detection run uses: its name (GENERATED for generated scenes), where it came from, the class names
/// (index = <see cref="AnnotatedObject.ClassIndex"/>), the three parts, how they were split, and how many bad files
/// were skipped.
/// </summary>
public sealed record DetectionDataSet(string Name, DataSourceKind Source, IReadOnlyList<string> ClassNames,
    IReadOnlyList<AnnotatedImage> Train, IReadOnlyList<AnnotatedImage> Validation, IReadOnlyList<AnnotatedImage> Test,
    string SplitMethod, int SkippedFiles)
{
    /// <summary>The share of the training images held out for validation when the data has no validation list.</summary>
    public const double ValidationShareOfTrain = 0.1;

    /// <summary>
    /// Splits what <see cref="DetectionFolderReader.Read"/> found. Lists that came with the data are used as they are
    /// (ids of skipped images drop out of them). Without a validation list, validation is a seeded 10% of train (at
    /// least one image). A VOC release with train and val lists but no test list (VOC2012) tests on its official val
    /// and validates on 10% of train. Without lists, a seeded split by image of
    /// <paramref name="fallbackShares"/> (train, validation, test; 70/10/20 when null).
    /// </summary>
    /// <exception cref="DataFileException">Too few images for the split (train needs two, to give one to validation).</exception>
    public static DetectionDataSet FromFolder(DetectionFolder folder, DataSourceKind source, string name, int seed,
        (double Train, double Validation, double Test)? fallbackShares = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        var byId = folder.Images.ToDictionary(image => image.Id, StringComparer.Ordinal);
        List<AnnotatedImage> Pick(IEnumerable<string> ids) => ids.Where(byId.ContainsKey).Select(id => byId[id]).ToList();

        if (folder.Lists is not { } lists)
        {
            var shares = fallbackShares ?? (0.7, 0.1, 0.2);
            var (train, validation, test) = SeededSplit(folder.Folder, folder.Images, shares, seed);
            return new DetectionDataSet(name, source, folder.ClassNames, train, validation, test,
                $"seeded {Percent(shares.Train)}/{Percent(shares.Validation)}/{Percent(shares.Test)} split by image (seed {seed})", folder.SkippedFiles);
        }

        var listedTrain = Pick(lists.Train);
        var listedTest = lists.Test is null ? null : Pick(lists.Test);
        if (lists.Validation is not null && listedTest is not null)
            return new DetectionDataSet(name, source, folder.ClassNames, listedTrain, Pick(lists.Validation), listedTest,
                $"official lists ({lists.Description})", folder.SkippedFiles);

        string method;
        if (listedTest is null && lists.Validation is not null)
        {
            listedTest = Pick(lists.Validation);
            method = $"official lists ({lists.Description}): test = the official val list, validation = a seeded {Percent(ValidationShareOfTrain)}% of train (seed {seed})";
        }
        else if (listedTest is null)
        {
            // Only a training list: it is all there is to split.
            var shares = fallbackShares ?? (0.7, 0.1, 0.2);
            var (train, validation, test) = SeededSplit(folder.Folder, listedTrain, shares, seed);
            return new DetectionDataSet(name, source, folder.ClassNames, train, validation, test,
                $"seeded {Percent(shares.Train)}/{Percent(shares.Validation)}/{Percent(shares.Test)} split of {lists.Description} (seed {seed})", folder.SkippedFiles);
        }
        else
        {
            method = $"official lists ({lists.Description}), validation = a seeded {Percent(ValidationShareOfTrain)}% of train (seed {seed})";
        }

        var (kept, heldOut) = HoldOutValidation(folder.Folder, listedTrain, seed);
        return new DetectionDataSet(name, source, folder.ClassNames, kept, heldOut, listedTest, method, folder.SkippedFiles);
    }

    /// <summary>
    /// A seeded split by image: the images in id order, shuffled with <c>new Random(seed)</c>, cut by the shares
    /// (validation and test rounded, at least one image each when their share is positive; train gets the rest).
    /// </summary>
    internal static (List<AnnotatedImage> Train, List<AnnotatedImage> Validation, List<AnnotatedImage> Test) SeededSplit(
        string folder, IReadOnlyList<AnnotatedImage> images, (double Train, double Validation, double Test) shares, int seed)
    {
        double total = shares.Train + shares.Validation + shares.Test;
        if (shares.Train <= 0 || shares.Validation < 0 || shares.Test < 0)
            throw new ArgumentOutOfRangeException(nameof(shares), shares, "train needs a positive share, the others non-negative ones");
        int validationCount = Count(images.Count, shares.Validation / total);
        int testCount = Count(images.Count, shares.Test / total);
        if (images.Count - validationCount - testCount < 1)
            throw new DataFileException(folder, $"{images.Count} usable annotated images are too few to split into train, validation and test");
        var shuffled = Shuffled(images, seed);
        return (shuffled[(validationCount + testCount)..], shuffled[..validationCount], shuffled[validationCount..(validationCount + testCount)]);

        static int Count(int n, double share) => share <= 0 ? 0 : Math.Max(1, (int)Math.Round(n * share, MidpointRounding.AwayFromZero));
    }

    /// <summary>A seeded 10% of <paramref name="train"/> (at least one image) for validation, and the rest.</summary>
    internal static (List<AnnotatedImage> Train, List<AnnotatedImage> Validation) HoldOutValidation(string folder, IReadOnlyList<AnnotatedImage> train, int seed)
    {
        if (train.Count < 2)
            throw new DataFileException(folder, $"{train.Count} usable training images: at least 2 are needed to hold one out for validation");
        int count = Math.Clamp((int)Math.Round(train.Count * ValidationShareOfTrain, MidpointRounding.AwayFromZero), 1, train.Count - 1);
        var shuffled = Shuffled(train, seed);
        return (shuffled[count..], shuffled[..count]);
    }

    /// <summary>Sorted by id first, so the result depends on the images and the seed only, not on the order given.</summary>
    static List<AnnotatedImage> Shuffled(IReadOnlyList<AnnotatedImage> images, int seed)
    {
        var list = images.OrderBy(image => image.Id, StringComparer.Ordinal).ThenBy(image => image.Path, StringComparer.Ordinal).ToList();
        var random = new Random(seed);
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }

    static string Percent(double share) => Math.Round(share * 100).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// What data a run asks for. <paramref name="DataPath"/>: a local folder (<c>--data</c>); <paramref name="Download"/>:
/// fetch PASCAL VOC <paramref name="VocYear"/> ("2007" or "2012") when it is not in <paramref name="CacheFolder"/>;
/// <paramref name="SkipBad"/>: skip and count bad files instead of stopping; <paramref name="GeneratedScenes"/>: how many
/// scenes the offline fallback generates; <paramref name="Seed"/>: for seeded splits and generation.
/// </summary>
public sealed record DetectionDataRequest(string? DataPath, bool Download, string VocYear, bool SkipBad, int GeneratedScenes,
    int Seed, string CacheFolder)
{
    /// <summary>Where the VOC archives are fetched from (tests point it at a loopback server); the official site when null.</summary>
    public Uri? VocBaseUrl { get; init; }
}
