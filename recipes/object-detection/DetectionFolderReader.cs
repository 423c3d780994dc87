using System.Globalization;
using Recipes.Runtime.Data;
using SixLabors.ImageSharp;

namespace Recipes.ObjectDetection;

/// <summary>How a detection folder is laid out.</summary>
public enum DetectionLayout
{
    /// <summary>PASCAL VOC: <c>Annotations/*.xml</c>, <c>JPEGImages/</c>, <c>ImageSets/Main/*.txt</c>.</summary>
    Voc,
    /// <summary>Images with VOC XML files beside them, or images in <c>images/</c> and XML in <c>annotations/</c>.</summary>
    PlainFolder,
}

/// <summary>
/// A split that came with the data, by image id (file name without extension). <see cref="Validation"/> and
/// <see cref="Test"/> are null when the data has no such list.
/// </summary>
public sealed record DetectionLists(string Description, IReadOnlyList<string> Train, IReadOnlyList<string>? Validation,
    IReadOnlyList<string>? Test);

/// <summary>
/// What <see cref="DetectionFolderReader.Read"/> found: the annotated images in a stable order (by id), their class
/// names, the split lists that came with the data, and what was left out and why.
/// </summary>
/// <param name="Folder">The folder actually read (for VOC, the one holding <c>Annotations/</c>, below any <c>VOCdevkit/</c>).</param>
/// <param name="SkippedByReason">Bad files skipped (only with <c>skipBad</c>), counted by <see cref="BadDetectionFile.Reason"/>.</param>
/// <param name="ClippedBoxes">Boxes that overran their image by at most <see cref="VocAnnotations.OverrunTolerance"/> pixels and were clipped.</param>
/// <param name="Unannotated">Images in a plain folder with no annotation file: not used (nothing says what is in them).</param>
/// <param name="Unlisted">Annotated images of a VOC folder that none of its split lists name: not used.</param>
public sealed record DetectionFolder(string Folder, DetectionLayout Layout, IReadOnlyList<string> ClassNames,
    IReadOnlyList<AnnotatedImage> Images, DetectionLists? Lists, IReadOnlyDictionary<string, int> SkippedByReason,
    int ClippedBoxes, int Unannotated, int Unlisted)
{
    public int SkippedFiles => SkippedByReason.Values.Sum();
}

/// <summary>
/// Reads annotated images for detection from a VOC folder (also when given the folder the official tars unpack to,
/// <c>VOCdevkit/VOC2007</c> below it) or a plain folder of images with VOC XML annotations. Every annotation is parsed
/// with <see cref="VocAnnotations"/> and every image's header is read (ImageSharp's Identify) to check that it
/// decodes and has the size its XML declares. A bad file stops the read with a <see cref="DataFileException"/> naming
/// it, or with <c>skipBad</c> is skipped, counted by reason and reported in the log: nothing is left out silently.
/// </summary>
public static class DetectionFolderReader
{
    public const string RaccoonTrainCsv = "train_labels.csv";
    public const string RaccoonTestCsv = "test_labels.csv";

    static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];

    /// <summary>Logged by name at most this many times per read; the rest only counted.</summary>
    const int BadFilesNamedInLog = 5;

    /// <summary>One image to check: its id, its annotation file, and where its image should be (resolved after parsing).</summary>
    readonly record struct Candidate(string Id, string XmlPath);

    /// <summary>Reads <paramref name="folder"/>; see the class summary.</summary>
    /// <param name="classNames">The classes, in index order, when the caller knows them (generated scenes); an object of
    /// another class is then bad input. Null to take VOC's 20 for VOC data, else the distinct names found, sorted.</param>
    /// <exception cref="DataFileException">The folder is missing or holds no annotations, several VOC sets, or (without
    /// <paramref name="skipBad"/>) a bad file.</exception>
    public static DetectionFolder Read(string folder, bool skipBad, TextWriter log, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentNullException.ThrowIfNull(log);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full)) throw new DataFileException(full, "folder not found");

        return FindVocRoot(full) is string voc ? ReadVoc(voc, skipBad, log, classNames) : ReadPlain(full, skipBad, log, classNames);
    }

    /// <summary>
    /// The VOC folder at or below <paramref name="folder"/>: itself if it has <c>Annotations/</c> and <c>JPEGImages/</c>,
    /// else its one <c>VOC*/</c> or <c>VOCdevkit/VOC*/</c> subfolder that has them; null when there is none.
    /// </summary>
    /// <exception cref="DataFileException">There are several (say VOC2007 and VOC2012): which one is meant is not ours to guess.</exception>
    public static string? FindVocRoot(string folder)
    {
        if (IsVocRoot(folder)) return folder;
        var found = new[] { folder, Path.Combine(folder, "VOCdevkit") }
            .Where(Directory.Exists)
            .SelectMany(parent => Directory.EnumerateDirectories(parent, "VOC*"))
            .Where(IsVocRoot)
            .Order(StringComparer.Ordinal)
            .ToList();
        return found.Count switch
        {
            0 => null,
            1 => found[0],
            _ => throw new DataFileException(folder,
                $"holds several VOC data sets ({string.Join(", ", found.Select(f => Path.GetRelativePath(folder, f)))}): point at one of them"),
        };
    }

    static bool IsVocRoot(string folder) =>
        Directory.Exists(Path.Combine(folder, "Annotations")) && Directory.Exists(Path.Combine(folder, "JPEGImages"));

    static DetectionFolder ReadVoc(string root, bool skipBad, TextWriter log, IReadOnlyList<string>? classNames)
    {
        string annotations = Path.Combine(root, "Annotations");
        string lists = Path.Combine(root, "ImageSets", "Main");
        var train = ReadList(lists, "train.txt");
        var validation = ReadList(lists, "val.txt");
        var trainval = ReadList(lists, "trainval.txt");
        var test = ReadList(lists, "test.txt");

        DetectionLists? split = null;
        if (train is not null)
            split = new DetectionLists($"ImageSets/Main train.txt{(validation is null ? "" : ", val.txt")}{(test is null ? "" : ", test.txt")}",
                train, validation, test);
        else if (trainval is not null)
            split = new DetectionLists($"ImageSets/Main trainval.txt{(test is null ? "" : ", test.txt")}", trainval, null, test);

        // With lists, only the images they name are read (VOC2012's Annotations/ also covers images in no detection list).
        IEnumerable<string> ids = split is null
            ? Directory.EnumerateFiles(annotations, "*.xml").Select(Path.GetFileNameWithoutExtension).OfType<string>()
            : new[] { split.Train, split.Validation ?? [], split.Test ?? [], trainval ?? [] }.SelectMany(list => list);
        var candidates = ids.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(id => new Candidate(id, Path.Combine(annotations, id + ".xml"))).ToList();
        int unlisted = split is null ? 0 : Directory.EnumerateFiles(annotations, "*.xml").Count() - candidates.Count(c => File.Exists(c.XmlPath));

        return Finish(root, DetectionLayout.Voc, Path.Combine(root, "JPEGImages"), candidates, split, skipBad, log, classNames, unannotated: 0, Math.Max(0, unlisted));
    }

    static DetectionFolder ReadPlain(string folder, bool skipBad, TextWriter log, IReadOnlyList<string>? classNames)
    {
        string images = Directory.Exists(Path.Combine(folder, "images")) ? Path.Combine(folder, "images") : folder;
        string annotations = new[] { "annotations", "Annotations" }.Select(name => Path.Combine(folder, name)).FirstOrDefault(Directory.Exists) ?? images;
        var candidates = Directory.EnumerateFiles(annotations, "*.xml")
            .Select(path => new Candidate(Path.GetFileNameWithoutExtension(path), path))
            .OrderBy(c => c.Id, StringComparer.Ordinal).ToList();
        if (candidates.Count == 0)
            throw new DataFileException(folder, "not a detection data set: no VOC layout (Annotations/, JPEGImages/) and no *.xml annotations " +
                                                "beside the images or in annotations/");

        var annotated = candidates.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        int unannotated = Directory.EnumerateFiles(images)
            .Count(path => IsImage(path) && !annotated.Contains(Path.GetFileNameWithoutExtension(path)));
        return Finish(folder, DetectionLayout.PlainFolder, images, candidates, ReadCsvLists(folder), skipBad, log, classNames, unannotated, unlisted: 0);
    }

    static DetectionFolder Finish(string folder, DetectionLayout layout, string imageFolder, IReadOnlyList<Candidate> candidates,
        DetectionLists? lists, bool skipBad, TextWriter log, IReadOnlyList<string>? knownClasses, int unannotated, int unlisted)
    {
        // Parsing and header reads are independent per image; AsOrdered keeps the results (and the first error) in id order.
        var checkedImages = candidates.AsParallel().AsOrdered().Select(candidate => Check(candidate, imageFolder, knownClasses)).ToList();

        var skipped = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var good = new List<(string Id, string ImagePath, VocAnnotation Annotation)>();
        foreach (var (candidate, imagePath, annotation, problem) in checkedImages)
        {
            if (problem is null)
            {
                good.Add((candidate.Id, imagePath!, annotation!));
                continue;
            }
            if (!skipBad) throw problem.ToException();
            int count = skipped.GetValueOrDefault(problem.Reason) + 1;
            skipped[problem.Reason] = count;
            if (skipped.Values.Sum() <= BadFilesNamedInLog) log.WriteLine($"Skipped {problem.FilePath}: {problem.Reason}: {problem.Detail}");
        }
        if (skipped.Count > 0)
            log.WriteLine($"Skipped {skipped.Values.Sum():N0} bad annotated images ({string.Join(", ", skipped.Select(p => $"{p.Value:N0} {p.Key}"))}).");
        if (good.Count == 0) throw new DataFileException(folder, "no usable annotated images");

        var names = good.SelectMany(g => g.Annotation.Objects).Select(o => o.Name).Distinct(StringComparer.Ordinal).ToList();
        // VOC's own order when the data is VOC's (every name one of its 20); otherwise the names found, sorted.
        IReadOnlyList<string> classNames = knownClasses
            ?? (layout == DetectionLayout.Voc && names.All(VocAnnotations.VocClassNames.Contains)
                ? VocAnnotations.VocClassNames
                : names.Order(StringComparer.Ordinal).ToList());
        var classIndex = classNames.Select((name, index) => (name, index)).ToDictionary(p => p.name, p => p.index, StringComparer.Ordinal);

        var images = good.Select(g => new AnnotatedImage(g.ImagePath, g.Annotation.Width, g.Annotation.Height,
            g.Annotation.Objects.Select(o => new AnnotatedObject(classIndex[o.Name], o.Box, o.Difficult)).ToList())).ToList();
        int clipped = good.Sum(g => g.Annotation.ClippedBoxes);
        if (clipped > 0)
            log.WriteLine($"Clipped {clipped:N0} boxes that overran their image by at most {VocAnnotations.OverrunTolerance} pixels.");
        if (unannotated > 0) log.WriteLine($"Ignored {unannotated:N0} images without an annotation file.");
        if (unlisted > 0) log.WriteLine($"Ignored {unlisted:N0} annotations of images in none of the split lists.");
        return new DetectionFolder(folder, layout, classNames, images, lists, skipped, clipped, unannotated, unlisted);
    }

    /// <summary>Parses one annotation and checks its image: found, decodable, of the declared size.</summary>
    static (Candidate Candidate, string? ImagePath, VocAnnotation? Annotation, BadDetectionFile? Problem) Check(Candidate candidate, string imageFolder,
        IReadOnlyList<string>? knownClasses)
    {
        if (!File.Exists(candidate.XmlPath))
            return (candidate, null, null, new BadDetectionFile(candidate.XmlPath, BadDetectionFile.AnnotationMissing, "listed in the split but not found"));
        var (annotation, problem) = VocAnnotations.TryRead(candidate.XmlPath);
        if (annotation is null) return (candidate, null, null, problem);
        if (knownClasses is not null && annotation.Objects.FirstOrDefault(o => !knownClasses.Contains(o.Name)) is { } stranger)
            return (candidate, null, null, new BadDetectionFile(candidate.XmlPath, BadDetectionFile.UnknownClass,
                $"'{stranger.Name}' is not one of {string.Join(", ", knownClasses)}"));

        string? imagePath = FindImage(imageFolder, candidate.Id, annotation.FileName);
        if (imagePath is null)
        {
            string expected = annotation.FileName ?? candidate.Id + ".jpg";
            return (candidate, null, null, new BadDetectionFile(candidate.XmlPath, BadDetectionFile.ImageMissing, $"{Path.Combine(imageFolder, expected)} not found"));
        }

        IImageInfo? info;
        try
        {
            info = Image.Identify(imagePath);
        }
        catch (Exception e) when (e is ImageFormatException or InvalidDataException or EndOfStreamException)
        {
            return (candidate, null, null, new BadDetectionFile(imagePath, BadDetectionFile.ImageUndecodable, e.Message));
        }
        if (info is null)
            return (candidate, null, null, new BadDetectionFile(imagePath, BadDetectionFile.ImageUndecodable, "not a recognised image format"));
        if (info.Width != annotation.Width || info.Height != annotation.Height)
            return (candidate, null, null, new BadDetectionFile(imagePath, BadDetectionFile.SizeMismatch,
                $"the image is {info.Width}x{info.Height}, {Path.GetFileName(candidate.XmlPath)} says {annotation.Width}x{annotation.Height}"));
        return (candidate, imagePath, annotation, null);
    }

    /// <summary>The image the annotation names, else one with the annotation's id and an image extension.</summary>
    static string? FindImage(string imageFolder, string id, string? fileName)
    {
        if (fileName is not null && Path.GetFileName(fileName) == fileName && Path.GetFileNameWithoutExtension(fileName) == id)
        {
            string named = Path.Combine(imageFolder, fileName);
            if (File.Exists(named)) return named;
        }
        return ImageExtensions.Select(extension => Path.Combine(imageFolder, id + extension)).FirstOrDefault(File.Exists);
    }

    static bool IsImage(string path) => ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    /// <summary>The ids in a VOC list file (first word of each line; the per-class lists add a flag after it).</summary>
    static IReadOnlyList<string>? ReadList(string folder, string fileName)
    {
        string path = Path.Combine(folder, fileName);
        if (!File.Exists(path)) return null;
        return File.ReadLines(path)
            .Select(line => line.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault())
            .OfType<string>().Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// The raccoon data set's split: <c>train_labels.csv</c> and <c>test_labels.csv</c>, one row per box, whose
    /// <c>filename</c> column names the images of each part. Null unless both files are there.
    /// </summary>
    static DetectionLists? ReadCsvLists(string folder)
    {
        string trainCsv = Path.Combine(folder, RaccoonTrainCsv), testCsv = Path.Combine(folder, RaccoonTestCsv);
        if (!File.Exists(trainCsv) || !File.Exists(testCsv)) return null;
        return new DetectionLists($"{RaccoonTrainCsv}, {RaccoonTestCsv}", ReadCsvFileNames(trainCsv), null, ReadCsvFileNames(testCsv));
    }

    static IReadOnlyList<string> ReadCsvFileNames(string csv)
    {
        using var reader = new StreamReader(csv);
        string header = reader.ReadLine() ?? throw new DataFileException(csv, "empty file");
        int column = Array.IndexOf(header.Split(',').Select(h => h.Trim()).ToArray(), "filename");
        if (column < 0) throw new DataFileException(csv, $"line 1: no 'filename' column in the header '{header}'");
        var ids = new List<string>();
        int lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            string[] fields = line.Split(',');
            if (fields.Length <= column || fields[column].Trim().Length == 0)
                throw new DataFileException(csv, string.Create(CultureInfo.InvariantCulture, $"line {lineNumber}: no file name in column {column + 1}"));
            ids.Add(Path.GetFileNameWithoutExtension(fields[column].Trim()));
        }
        return ids.Distinct(StringComparer.Ordinal).ToList();
    }
}
