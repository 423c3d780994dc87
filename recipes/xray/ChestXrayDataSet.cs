using Recipes.Runtime.Data;

namespace Recipes.Xray;

/// <summary>
/// A local copy of NIH ChestX-ray14 in the layout of the release: one <c>Data_Entry_2017*.csv</c> labels file
/// directly in the folder, the PNGs anywhere below it (the release unpacks them into
/// <c>images_001/images/</c> ... <c>images_012/images/</c>; they are found by file name), and the official
/// patient-level split <c>train_val_list.txt</c> / <c>test_list.txt</c> beside the CSV when present.
/// Loading reads no pixels.
/// </summary>
public sealed class ChestXrayDataSet
{
    public const string LabelsFilePattern = "Data_Entry_2017*.csv";
    public const string TrainValListFile = "train_val_list.txt";
    public const string TestListFile = "test_list.txt";

    ChestXrayDataSet(string folder, string labelsFile, IReadOnlyList<ChestXrayImage> images, int missingSkipped,
        int unlistedImages, IReadOnlySet<string>? officialTrainVal, IReadOnlySet<string>? officialTest)
    {
        Folder = folder;
        LabelsFile = labelsFile;
        Images = images;
        MissingSkipped = missingSkipped;
        UnlistedImages = unlistedImages;
        OfficialTrainVal = officialTrainVal;
        OfficialTest = officialTest;
    }

    /// <summary>The data folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The <c>Data_Entry_2017*.csv</c> the labels came from (full path).</summary>
    public string LabelsFile { get; }

    /// <summary>The labelled images whose PNG was found, in the order of the CSV.</summary>
    public IReadOnlyList<ChestXrayImage> Images { get; }

    /// <summary>CSV rows whose PNG was not found and that were skipped (only with skipMissing; otherwise it is an error).</summary>
    public int MissingSkipped { get; }

    /// <summary>PNGs found under the folder that the CSV does not list (ignored).</summary>
    public int UnlistedImages { get; }

    /// <summary>The image names of <c>train_val_list.txt</c>, or null when the folder has none.</summary>
    public IReadOnlySet<string>? OfficialTrainVal { get; }

    /// <summary>The image names of <c>test_list.txt</c>, or null when the folder has none.</summary>
    public IReadOnlySet<string>? OfficialTest { get; }

    /// <param name="folder">The data folder (NIH layout, see the class summary).</param>
    /// <param name="skipMissing">Count and skip CSV rows whose PNG is not there (a partial download) instead of
    /// failing on the first one.</param>
    public static ChestXrayDataSet Load(string folder, bool skipMissing = false)
    {
        if (!Directory.Exists(folder)) throw new DataFileException(folder, "no such folder");
        string fullFolder = Path.GetFullPath(folder);
        string labelsFile = FindLabelsFile(folder);
        var rows = ChestXrayLabelsCsv.Read(labelsFile);
        var pngByName = IndexPngs(folder);

        var images = new List<ChestXrayImage>(rows.Count);
        int missing = 0;
        foreach (var row in rows)
        {
            if (pngByName.TryGetValue(row.ImageIndex, out string? png))
            {
                images.Add(new ChestXrayImage(row.ImageIndex, row.PatientId, row.Labels, png));
                continue;
            }
            if (!skipMissing)
                throw new DataFileException(labelsFile,
                    $"line {row.Line}: {row.ImageIndex} is listed but not found under {folder}; --skip-missing skips such rows");
            missing++;
        }
        if (images.Count == 0)
            throw new DataFileException(labelsFile,
                $"none of the {rows.Count} images it lists is under {folder} ({pngByName.Count} PNG file{(pngByName.Count == 1 ? "" : "s")} found there)");

        var (trainVal, test) = ReadOfficialLists(folder);
        return new ChestXrayDataSet(fullFolder, Path.GetFullPath(labelsFile), images, missing, pngByName.Count - images.Count, trainVal, test);
    }

    static string FindLabelsFile(string folder)
    {
        var candidates = Directory.GetFiles(folder, LabelsFilePattern, SearchOption.TopDirectoryOnly);
        Array.Sort(candidates, StringComparer.Ordinal);
        if (candidates.Length == 1) return candidates[0];
        if (candidates.Length > 1)
            throw new DataFileException(folder,
                $"{candidates.Length} labels files match {LabelsFilePattern} ({string.Join(", ", candidates.Select(Path.GetFileName))}); keep exactly one");
        var entries = Directory.EnumerateFileSystemEntries(folder)
            .Select(entry => Path.GetFileName(entry) + (Directory.Exists(entry) ? "/" : ""))
            .Order(StringComparer.Ordinal).ToList();
        string found = entries.Count == 0 ? "the folder is empty"
            : "found: " + string.Join(", ", entries.Take(12)) + (entries.Count > 12 ? $" and {entries.Count - 12} more" : "");
        throw new DataFileException(folder, $"no labels file {LabelsFilePattern} directly in it ({found})");
    }

    /// <summary>Every PNG below the folder by file name (the CSV names images without their subfolder).</summary>
    static Dictionary<string, string> IndexPngs(string folder)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, MatchCasing = MatchCasing.CaseInsensitive };
        var paths = Directory.GetFiles(folder, "*.png", options);
        // Ordinal order so that which of two same-named files is "first" in the error is the same on every machine.
        Array.Sort(paths, StringComparer.Ordinal);
        var byName = new Dictionary<string, string>(paths.Length, StringComparer.Ordinal);
        foreach (string path in paths)
        {
            string name = Path.GetFileName(path);
            if (!byName.TryAdd(name, Path.GetFullPath(path)))
                throw new DataFileException(folder, $"two images named {name}: {byName[name]} and {Path.GetFullPath(path)}; keep one");
        }
        return byName;
    }

    static (IReadOnlySet<string>? TrainVal, IReadOnlySet<string>? Test) ReadOfficialLists(string folder)
    {
        string trainValPath = Path.Combine(folder, TrainValListFile), testPath = Path.Combine(folder, TestListFile);
        var trainVal = File.Exists(trainValPath) ? ReadNameList(trainValPath) : null;
        var test = File.Exists(testPath) ? ReadNameList(testPath) : null;
        // An image in both lists would be trained on and tested on: refuse it rather than let test win silently.
        if (trainVal is not null && test is not null)
            foreach (var (name, line) in test)
                if (trainVal.TryGetValue(name, out int trainValLine))
                    throw new DataFileException(testPath, $"line {line}: {name} is also in {TrainValListFile} (line {trainValLine})");
        return (trainVal?.Keys.ToHashSet(StringComparer.Ordinal), test?.Keys.ToHashSet(StringComparer.Ordinal));
    }

    /// <summary>One image name per line (blank lines ignored), each with the line it first appears on.</summary>
    static Dictionary<string, int> ReadNameList(string path)
    {
        var lineOf = new Dictionary<string, int>(StringComparer.Ordinal);
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            string name = line.Trim();
            if (name.Length == 0) continue;
            if (name.IndexOfAny([',', ' ', '\t', '/', '\\']) >= 0)
                throw new DataFileException(path, $"line {lineNumber}: '{(name.Length <= 60 ? name : name[..57] + "...")}' is not an image file name such as 00000001_000.png");
            lineOf.TryAdd(name, lineNumber);
        }
        return lineOf;
    }
}
