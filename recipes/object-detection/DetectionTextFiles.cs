using System.Globalization;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;
using Recipes.Runtime.Vision;

namespace Recipes.ObjectDetection;

/// <summary>A ground-truth line of a text file: a class by name, a box in edge coordinates, the difficult flag.</summary>
public sealed record NamedObject(string ClassName, PixelBox Box, bool Difficult);

/// <summary>A detection line of a text file: a class by name, a confidence, a box in edge coordinates.</summary>
public sealed record NamedDetection(string ClassName, float Score, PixelBox Box);

/// <summary>A ground-truth folder and a detections folder read together: the class names (index i is
/// <c>ClassNames[i]</c>) and one entry per ground-truth file, in ordinal order of the file names.</summary>
public sealed record DetectionTextSet(IReadOnlyList<string> ClassNames, IReadOnlyList<ImageDetections> Images);

/// <summary>
/// The plain-text exchange format of detection evaluation: one file per image, named after the image id with
/// <c>.txt</c>, one object per line, fields separated by spaces:
/// <list type="bullet">
/// <item>ground truth: <c>&lt;class&gt; &lt;left&gt; &lt;top&gt; &lt;right&gt; &lt;bottom&gt; [difficult]</c>
/// (the sixth field, when present, is the word <c>difficult</c>);</item>
/// <item>detections: <c>&lt;class&gt; &lt;confidence&gt; &lt;left&gt; &lt;top&gt; &lt;right&gt; &lt;bottom&gt;</c>.</item>
/// </list>
/// Coordinates are VOC's inclusive 1-based pixel coordinates (a box covering only the top-left pixel is
/// <c>1 1 1 1</c>) and may have decimals; in memory they become edge coordinates: Left = left - 1, Top = top - 1,
/// Right = right, Bottom = bottom. Class names contain no white space. Numbers use the invariant culture.
/// Blank lines are ignored; anything else that does not parse is a <see cref="DataFileException"/> naming the file
/// and line.
/// </summary>
public static class DetectionTextFiles
{
    /// <summary>The extension of every file of the format.</summary>
    public const string Extension = ".txt";

    /// <summary>The word that marks a difficult ground-truth object.</summary>
    public const string DifficultMarker = "difficult";

    /// <summary>Writes <c>&lt;folder&gt;/&lt;imageId&gt;.txt</c> with one ground-truth line per object (an empty file
    /// for none), atomically. Returns the path.</summary>
    /// <exception cref="ArgumentException">The image id is not a plain file name, a class index is outside
    /// <paramref name="classNames"/>, or a class name is empty or contains white space.</exception>
    public static string WriteGroundTruth(string folder, string imageId, IReadOnlyList<AnnotatedObject> objects, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(objects);
        var lines = objects.Select(item =>
            $"{ClassName(classNames, item.ClassIndex)} {Coordinates(item.Box)}{(item.Difficult ? " " + DifficultMarker : "")}");
        return WriteLines(folder, imageId, lines);
    }

    /// <summary>Writes <c>&lt;folder&gt;/&lt;imageId&gt;.txt</c> with one detection line per detection (an empty file
    /// for none), atomically. Scores are written so that they read back as the same float. Returns the path.</summary>
    /// <exception cref="ArgumentException">As for <see cref="WriteGroundTruth"/>, or a score is not finite.</exception>
    public static string WriteDetections(string folder, string imageId, IReadOnlyList<Detection> detections, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(detections);
        foreach (var detection in detections)
            if (!float.IsFinite(detection.Score)) throw new ArgumentException($"image \"{imageId}\": a detection has the score {detection.Score}", nameof(detections));
        var lines = detections.Select(detection =>
            $"{ClassName(classNames, detection.ClassIndex)} {detection.Score.ToString("R", CultureInfo.InvariantCulture)} {Coordinates(detection.Box)}");
        return WriteLines(folder, imageId, lines);
    }

    /// <summary>Reads a ground-truth file.</summary>
    /// <exception cref="DataFileException">A line does not parse (the message names the file and line).</exception>
    public static IReadOnlyList<NamedObject> ReadGroundTruth(string path) => ReadGroundTruthLines(path).Select(entry => entry.Item).ToArray();

    static List<(NamedObject Item, int Line)> ReadGroundTruthLines(string path) =>
        ReadLines(path, (fields, line) =>
        {
            if (fields.Length is not (5 or 6))
                throw new DataFileException(path, $"line {line}: expected '<class> <left> <top> <right> <bottom> [difficult]', found {fields.Length} fields");
            bool difficult = false;
            if (fields.Length == 6)
            {
                if (!string.Equals(fields[5], DifficultMarker, StringComparison.OrdinalIgnoreCase))
                    throw new DataFileException(path, $"line {line}: the sixth field must be '{DifficultMarker}', not '{fields[5]}' (is this a detection file?)");
                difficult = true;
            }
            return new NamedObject(fields[0], ParseBox(path, line, fields, 1), difficult);
        });

    /// <summary>Reads a detection file.</summary>
    /// <exception cref="DataFileException">A line does not parse (the message names the file and line).</exception>
    public static IReadOnlyList<NamedDetection> ReadDetections(string path) => ReadDetectionLines(path).Select(entry => entry.Item).ToArray();

    static List<(NamedDetection Item, int Line)> ReadDetectionLines(string path) =>
        ReadLines(path, (fields, line) =>
        {
            if (fields.Length != 6)
                throw new DataFileException(path, $"line {line}: expected '<class> <confidence> <left> <top> <right> <bottom>', found {fields.Length} fields");
            if (!float.TryParse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture, out float score) || !float.IsFinite(score))
                throw new DataFileException(path, $"line {line}: the confidence '{fields[1]}' is not a finite number");
            return new NamedDetection(fields[0], score, ParseBox(path, line, fields, 2));
        });

    /// <summary>
    /// Reads every <c>.txt</c> file of <paramref name="groundTruthFolder"/> and its namesake in
    /// <paramref name="detectionsFolder"/>. An image without a detection file has no detections; a detection file
    /// without a ground-truth file is an error, as the devkit's "unrecognized image" is (it would otherwise be
    /// silently ignored, or every one of its detections counted false). Class names are <paramref name="classNames"/>
    /// when given (a name in a file outside it is an error), otherwise the ordinal-sorted union of the names in both
    /// folders. Images come in ordinal order of their file names, which with the line order decides the ranking of
    /// detections with equal confidence.
    /// </summary>
    /// <exception cref="DataFileException">A folder is missing, a file does not parse, a detection file has no
    /// ground-truth file, or a class name is not in <paramref name="classNames"/>.</exception>
    public static DetectionTextSet ReadFolders(string groundTruthFolder, string detectionsFolder, IReadOnlyList<string>? classNames = null)
    {
        var truthFiles = TextFiles(groundTruthFolder, "ground-truth");
        var detectionFiles = TextFiles(detectionsFolder, "detections");
        foreach (var (id, path) in detectionFiles)
            if (!truthFiles.ContainsKey(id))
                throw new DataFileException(path, $"no ground-truth file {Path.Combine(groundTruthFolder, id + Extension)} for these detections");

        var truths = truthFiles.ToDictionary(entry => entry.Key, entry => ReadGroundTruthLines(entry.Value), StringComparer.Ordinal);
        var detections = detectionFiles.ToDictionary(entry => entry.Key, entry => ReadDetectionLines(entry.Value), StringComparer.Ordinal);

        IReadOnlyList<string> names = classNames ?? truths.Values.SelectMany(file => file.Select(entry => entry.Item.ClassName))
            .Concat(detections.Values.SelectMany(file => file.Select(entry => entry.Item.ClassName)))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < names.Count; i++)
            if (!indexOf.TryAdd(names[i], i)) throw new ArgumentException($"class \"{names[i]}\" is listed twice", nameof(classNames));

        var images = new List<ImageDetections>(truthFiles.Count);
        foreach (var (id, truthPath) in truthFiles.OrderBy(entry => entry.Key, StringComparer.Ordinal))
        {
            var objects = truths[id].Select(entry =>
                new AnnotatedObject(IndexOf(indexOf, entry.Item.ClassName, truthPath, entry.Line), entry.Item.Box, entry.Item.Difficult)).ToArray();
            var found = detections.TryGetValue(id, out var list)
                ? list.Select(entry => new Detection(IndexOf(indexOf, entry.Item.ClassName, detectionFiles[id], entry.Line), entry.Item.Score, entry.Item.Box)).ToArray()
                : [];
            images.Add(new ImageDetections(id, objects, found));
        }
        return new DetectionTextSet(names, images);
    }

    static int IndexOf(Dictionary<string, int> indexOf, string name, string path, int line) =>
        indexOf.TryGetValue(name, out int index) ? index
            : throw new DataFileException(path, $"line {line}: class '{name}' is not one of the {indexOf.Count} classes evaluated");

    static Dictionary<string, string> TextFiles(string folder, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DataFileException(folder, $"no such {what} folder");
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in Directory.EnumerateFiles(folder))
        {
            if (!string.Equals(Path.GetExtension(path), Extension, StringComparison.OrdinalIgnoreCase)) continue;
            string id = Path.GetFileNameWithoutExtension(path);
            if (!files.TryAdd(id, path)) throw new DataFileException(path, $"a second file for image '{id}' (also {files[id]})");
        }
        return files;
    }

    static List<(T Item, int Line)> ReadLines<T>(string path, Func<string[], int, T> parse)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var items = new List<(T, int)>();
        int line = 0;
        foreach (string text in File.ReadLines(path))
        {
            line++;
            string[] fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0) continue;
            items.Add((parse(fields, line), line));
        }
        return items;
    }

    static PixelBox ParseBox(string path, int line, string[] fields, int first)
    {
        var values = new double[4];
        string[] names = ["left", "top", "right", "bottom"];
        for (int k = 0; k < 4; k++)
            if (!double.TryParse(fields[first + k], NumberStyles.Float, CultureInfo.InvariantCulture, out values[k]) || !double.IsFinite(values[k]))
                throw new DataFileException(path, $"line {line}: the {names[k]} coordinate '{fields[first + k]}' is not a finite number");
        var box = new PixelBox(values[0] - 1, values[1] - 1, values[2], values[3]);
        // Inclusive coordinates: right = left - 1 is an empty box (it can never match), anything further left is nonsense.
        if (box.Width < 0 || box.Height < 0)
            throw new DataFileException(path, $"line {line}: the box {fields[first]} {fields[first + 1]} {fields[first + 2]} {fields[first + 3]} has its right or bottom edge before its left or top edge");
        return box;
    }

    static string Coordinates(PixelBox box) =>
        string.Join(' ', new[] { box.Left + 1, box.Top + 1, box.Right, box.Bottom }.Select(value =>
            double.IsFinite(value) ? value.ToString("R", CultureInfo.InvariantCulture) : throw new ArgumentException($"the box {box} has a coordinate that is not finite")));

    static string ClassName(IReadOnlyList<string> classNames, int classIndex)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        if ((uint)classIndex >= (uint)classNames.Count)
            throw new ArgumentException($"class index {classIndex} is not one of the {classNames.Count} classes");
        string name = classNames[classIndex];
        if (string.IsNullOrEmpty(name) || name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"class name '{name}' is empty or contains white space, which the text format cannot hold");
        return name;
    }

    static string WriteLines(string folder, string imageId, IEnumerable<string> lines)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageId);
        if (imageId.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || imageId.Contains('/') || imageId.Contains('\\') || imageId is "." or "..")
            throw new ArgumentException($"image id '{imageId}' is not a plain file name", nameof(imageId));
        // Built in full before the write, so a bad class index leaves no file behind.
        var text = new System.Text.StringBuilder();
        foreach (string line in lines) text.Append(line).Append('\n');
        string path = Path.Combine(folder, imageId + Extension);
        AtomicFile.WriteAllText(path, text.ToString());
        return path;
    }
}
