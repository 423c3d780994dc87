using Recipes.Runtime.Data;

namespace Recipes.Runtime.Vision;

/// <summary>A labelled image data set split into training and test images, and where it came from.</summary>
public sealed record ImageClassificationData(ImageSet Train, ImageSet Test, DataSourceKind Source, string Name)
{
    public IReadOnlyList<string> ClassNames => Train.ClassNames;

    /// <summary>
    /// Resolves a labelled image set the way the cats-vs-dogs recipes need it:
    /// <list type="bullet">
    /// <item>a folder with <c>train/</c> and <c>test/</c> subfolders, each holding one folder per class
    /// (../shared/data/cats-dogs): used as split;</item>
    /// <item>any other folder: labels from class folders, or else from file names (the Kaggle layout
    /// <c>cat.123.jpg</c>, <c>dog.45.jpg</c>: the part before the first dot), then a seeded split;</item>
    /// <item>no folder: a GENERATED two-texture set (<see cref="GeneratedTextureImages"/>), said so on <paramref name="log"/>.</item>
    /// </list>
    /// </summary>
    public static ImageClassificationData Resolve(string? folder, int seed, TextWriter log, double trainFraction = 0.9, int generatedPerClass = 60)
    {
        if (folder is null)
        {
            log.WriteLine($"No --data folder: using a GENERATED set of {2 * generatedPerClass} texture images (spots vs stripes), a stand-in for cats vs dogs.");
            var generated = GeneratedTextureImages.Create(generatedPerClass, seed);
            var (train, test) = generated.Split(trainFraction, seed);
            return new ImageClassificationData(train, test, DataSourceKind.Generated, "generated textures");
        }
        if (!Directory.Exists(folder)) throw new DataFileException(folder, "no such image folder");
        string name = Path.GetFileName(Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar));
        string trainFolder = Path.Combine(folder, "train"), testFolder = Path.Combine(folder, "test");
        if (Directory.Exists(trainFolder) && Directory.Exists(testFolder))
        {
            var train = ImageSet.FromFolder(trainFolder, labelsFromParentFolder: true);
            var test = ImageSet.FromFolder(testFolder, labelsFromParentFolder: true);
            if (!train.ClassNames.SequenceEqual(test.ClassNames))
                throw new DataFileException(folder, $"train classes ({string.Join(", ", train.ClassNames)}) differ from test classes ({string.Join(", ", test.ClassNames)})");
            return new ImageClassificationData(train, test, DataSourceKind.Local, name);
        }
        var all = LabelledFolder(folder);
        var (first, second) = all.Split(trainFraction, seed);
        return new ImageClassificationData(first, second, DataSourceKind.Local, name);
    }

    /// <summary>Images labelled by their class folders, or, when they share one folder, by file-name prefix.</summary>
    public static ImageSet LabelledFolder(string folder)
    {
        var byParent = ImageSet.FromFolder(folder, labelsFromParentFolder: true);
        if (byParent.ClassNames.Count >= 2) return byParent;
        static string Prefix(string path) => Path.GetFileName(path).Split('.')[0].ToLowerInvariant();
        string[] classes = byParent.Entries.Select(e => Prefix(e.Origin)).Distinct().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
            throw new DataFileException(folder, "cannot tell the classes: put each class in its own folder, or name files <class>.<id>.jpg (cat.1.jpg, dog.1.jpg)");
        var index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        return new ImageSet(byParent.Entries.Select(e => new ImageEntry(e.Origin, index[Prefix(e.Origin)])), classes);
    }

    /// <summary>A seeded subset of at most <paramref name="count"/> training images (the seed used about 2,200 of Kaggle's 25,000).</summary>
    public ImageClassificationData WithAtMostTrainingImages(int count, int seed) =>
        count >= Train.Count ? this : this with { Train = Train.Split((double)count / Train.Count, seed).First };
}
