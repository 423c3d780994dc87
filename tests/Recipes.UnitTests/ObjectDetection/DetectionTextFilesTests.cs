using Recipes.ObjectDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using Recipes.Tests.Summaries;
using SkiaSharp;

namespace Recipes.Tests.ObjectDetection;

public class DetectionTextFilesTests
{
    static readonly string[] Classes = ["cat", "dog"];

    [Fact]
    public void Ground_truth_is_written_in_inclusive_coordinates_and_reads_back_as_the_same_edges()
    {
        using var folder = new TemporaryFolder();
        AnnotatedObject[] objects =
        [
            new(0, new PixelBox(0, 1, 10, 20)),
            new(1, new PixelBox(10.5, 4, 30.25, 8), Difficult: true),
        ];
        string path = DetectionTextFiles.WriteGroundTruth(folder.Path, "000005", objects, Classes);

        Assert.Equal(folder.File("000005.txt"), path);
        Assert.Equal("cat 1 2 10 20\ndog 11.5 5 30.25 8 difficult\n", File.ReadAllText(path));
        var read = DetectionTextFiles.ReadGroundTruth(path);
        Assert.Equal(
            [new NamedObject("cat", new PixelBox(0, 1, 10, 20), false), new NamedObject("dog", new PixelBox(10.5, 4, 30.25, 8), true)],
            read);
    }

    [Fact]
    public void Detections_round_trip_with_the_same_float_scores()
    {
        using var folder = new TemporaryFolder();
        Detection[] detections = [new(1, 0.123456789f, new PixelBox(0, 0, 5, 5)), new(0, 1e-7f, new PixelBox(2, 3, 4, 6))];
        string path = DetectionTextFiles.WriteDetections(folder.Path, "img", detections, Classes);

        string[] lines = File.ReadAllLines(path);
        Assert.Equal("dog 0.12345679 1 1 5 5", lines[0]);
        var read = DetectionTextFiles.ReadDetections(path);
        Assert.Equal([new NamedDetection("dog", 0.123456789f, new PixelBox(0, 0, 5, 5)), new NamedDetection("cat", 1e-7f, new PixelBox(2, 3, 4, 6))], read);

        // No detections: an empty file, which reads as none.
        Assert.Empty(DetectionTextFiles.ReadDetections(DetectionTextFiles.WriteDetections(folder.Path, "empty", [], Classes)));
        Assert.Equal(["empty.txt", "img.txt"], Directory.GetFiles(folder.Path).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Blank_lines_tabs_and_CRLF_are_accepted()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("a.txt");
        File.WriteAllText(path, "\r\ncat\t1 1 10 10\r\n   \r\n  dog 5 5 6 6 DIFFICULT  \r\n");
        Assert.Equal(
            [new NamedObject("cat", new PixelBox(0, 0, 10, 10), false), new NamedObject("dog", new PixelBox(4, 4, 6, 6), true)],
            DetectionTextFiles.ReadGroundTruth(path));
    }

    [Theory]
    [InlineData("cat 1 1 10", "4 fields")]
    [InlineData("cat 1 1 10 10 1", "sixth field")]
    [InlineData("cat 1 1 ten 10", "right coordinate 'ten'")]
    [InlineData("cat 1 1 NaN 10", "not a finite number")]
    [InlineData("cat 1,5 1 10 10", "left coordinate")]
    [InlineData("cat 10 1 5 10", "before its left")]
    public void A_malformed_ground_truth_line_names_the_file_and_line(string badLine, string expected)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("bad.txt");
        File.WriteAllText(path, $"dog 1 1 2 2\n\n{badLine}\n");
        var error = Assert.Throws<DataFileException>(() => DetectionTextFiles.ReadGroundTruth(path));
        Assert.Equal(path, error.FilePath);
        Assert.Contains("line 3", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Theory]
    [InlineData("cat 1 1 10 10", "5 fields")]
    [InlineData("cat high 1 1 10 10", "confidence 'high'")]
    [InlineData("cat 0.5 1 1 10 x", "bottom coordinate 'x'")]
    [InlineData("cat Infinity 1 1 10 10", "not a finite number")]
    public void A_malformed_detection_line_names_the_file_and_line(string badLine, string expected)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("bad.txt");
        File.WriteAllText(path, $"{badLine}\n");
        var error = Assert.Throws<DataFileException>(() => DetectionTextFiles.ReadDetections(path));
        Assert.Contains("line 1", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Writers_refuse_names_the_format_cannot_hold()
    {
        using var folder = new TemporaryFolder();
        AnnotatedObject[] one = [new(0, new PixelBox(0, 0, 1, 1))];
        Assert.Throws<ArgumentException>(() => DetectionTextFiles.WriteGroundTruth(folder.Path, "a", one, ["potted plant"]));
        Assert.Throws<ArgumentException>(() => DetectionTextFiles.WriteGroundTruth(folder.Path, "../a", one, Classes));
        Assert.Throws<ArgumentException>(() => DetectionTextFiles.WriteGroundTruth(folder.Path, "a", [new(2, new PixelBox(0, 0, 1, 1))], Classes));
        Assert.Throws<ArgumentException>(() => DetectionTextFiles.WriteDetections(folder.Path, "a", [new(0, float.NaN, new PixelBox(0, 0, 1, 1))], Classes));
        Assert.Empty(Directory.GetFiles(folder.Path));
    }

    [Fact]
    public void Folders_read_together_give_sorted_class_names_and_images_without_detection_files_have_none()
    {
        using var folder = new TemporaryFolder();
        string truth = folder.File("gt"), found = folder.File("det");
        Directory.CreateDirectory(found);
        File.WriteAllText(EnsureFile(truth, "b.txt"), "zebra 1 1 10 10\ncat 1 1 5 5 difficult\n");
        File.WriteAllText(EnsureFile(truth, "a.txt"), "cat 1 1 10 10\n");
        File.WriteAllText(EnsureFile(truth, "notes.md"), "not a data file");
        File.WriteAllText(EnsureFile(found, "a.txt"), "bee 0.5 1 1 10 10\ncat 0.9 1 1 10 10\n");

        var set = DetectionTextFiles.ReadFolders(truth, found);
        Assert.Equal(["bee", "cat", "zebra"], set.ClassNames);
        Assert.Equal(["a", "b"], set.Images.Select(image => image.ImageId));
        Assert.Equal([new Detection(0, 0.5f, new PixelBox(0, 0, 10, 10)), new Detection(1, 0.9f, new PixelBox(0, 0, 10, 10))], set.Images[0].Detections);
        Assert.Empty(set.Images[1].Detections);
        Assert.Equal([new AnnotatedObject(2, new PixelBox(0, 0, 10, 10)), new AnnotatedObject(1, new PixelBox(0, 0, 5, 5), true)], set.Images[1].GroundTruth);

        // A given class list fixes the indices; a name outside it is an error naming file and line.
        var fixedSet = DetectionTextFiles.ReadFolders(truth, found, ["zebra", "cat", "bee"]);
        Assert.Equal(0, fixedSet.Images[1].GroundTruth[0].ClassIndex);
        var unknown = Assert.Throws<DataFileException>(() => DetectionTextFiles.ReadFolders(truth, found, ["cat", "zebra"]));
        Assert.Equal(Path.Combine(found, "a.txt"), unknown.FilePath);
        Assert.Contains("line 1", unknown.Message);
    }

    [Fact]
    public void A_detection_file_without_ground_truth_and_a_missing_folder_are_errors_naming_them()
    {
        using var folder = new TemporaryFolder();
        string truth = folder.File("gt"), found = folder.File("det");
        File.WriteAllText(EnsureFile(truth, "a.txt"), "cat 1 1 10 10\n");
        File.WriteAllText(EnsureFile(found, "stray.txt"), "cat 0.5 1 1 10 10\n");

        var stray = Assert.Throws<DataFileException>(() => DetectionTextFiles.ReadFolders(truth, found));
        Assert.Equal(Path.Combine(found, "stray.txt"), stray.FilePath);
        Assert.Contains("no ground-truth file", stray.Message);
        var missing = Assert.Throws<DataFileException>(() => DetectionTextFiles.ReadFolders(truth, folder.File("nowhere")));
        Assert.Equal(folder.File("nowhere"), missing.FilePath);
    }

    [Fact]
    public void Evaluate_reads_the_folders_prints_the_table_and_returns_the_hand_computed_AP()
    {
        using var folder = new TemporaryFolder();
        string truth = folder.File("gt"), found = folder.File("det");
        string[] names = ["cat", "dog", "horse"];
        // cat: two objects, found once with a false alarm ranked first: precision 0, then 1/2 at recall 1/2 -> AP 0.25.
        // dog: one object, found first -> AP 1. horse: only detected -> undefined, left out of the mean.
        DetectionTextFiles.WriteGroundTruth(truth, "1", [new(0, new PixelBox(0, 0, 10, 10)), new(1, new PixelBox(20, 20, 40, 40))], names);
        DetectionTextFiles.WriteGroundTruth(truth, "2", [new(0, new PixelBox(0, 0, 10, 10))], names);
        DetectionTextFiles.WriteDetections(found, "1",
            [new(0, 0.9f, new PixelBox(50, 50, 60, 60)), new(0, 0.8f, new PixelBox(0, 0, 10, 10)), new(1, 0.7f, new PixelBox(20, 20, 40, 41))], names);
        DetectionTextFiles.WriteDetections(found, "2", [new(2, 0.3f, new PixelBox(0, 0, 10, 10))], names);

        var output = new StringWriter();
        var result = DetectionEvaluation.Run(truth, found, ApInterpolation.AllPoints, output);

        Assert.Equal(["cat", "dog", "horse"], result.PerClass.Select(row => row.ClassName));
        Assert.Equal(0.25, result.PerClass[0].AveragePrecision!.Value, 1e-12);
        Assert.Equal(1.0, result.PerClass[1].AveragePrecision!.Value, 1e-12);
        Assert.Null(result.PerClass[2].AveragePrecision);
        Assert.Equal(0.625, result.MeanAveragePrecision, 1e-12);

        string[] lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.TrimEnd('\r')).ToArray();
        Assert.Equal("2 images, 3 ground-truth objects (0 difficult), 4 detections, 3 classes", lines[0]);
        Assert.Equal("class      AP      GT  detections      TP      FP", lines[1]);
        Assert.Equal("cat    0.2500       2           2       1       1", lines[2]);
        Assert.Equal("dog    1.0000       1           1       1       0", lines[3]);
        Assert.StartsWith("horse       -       0           1       0       1  (no ground truth", lines[4]);
        Assert.Equal("mAP    0.6250  over 2 of 3 classes, all-point interpolation (VOC2010+), IoU >= 0.5", lines[5]);
    }

    [Fact]
    public void The_precision_recall_chart_is_a_png_with_each_class_curve_in_its_colour()
    {
        using var folder = new TemporaryFolder();
        var result = new VocEvaluationResult(
        [
            new ClassAveragePrecision("cat", 0.75, 4, 4, 3, 1, [0.25, 0.5, 0.5, 0.75], [1, 1, 2 / 3.0, 0.75]),
            new ClassAveragePrecision("dog", 0, 2, 0, 0, 0, [], []),
            new ClassAveragePrecision("bee", null, 0, 1, 0, 1, [], []),
        ], 0.375, ApInterpolation.AllPoints, 0.5);

        string path = PrecisionRecallChart.Write(folder.File("charts/pr.png"), result, "test set");
        Assert.Equal(folder.File("charts/pr.png"), path);
        using var bitmap = SKBitmap.Decode(path);
        Assert.Equal((1000, 700), (bitmap.Width, bitmap.Height));
        // The first Category20 colour draws the cat's curve in the data area (left of the legend).
        var catColor = new SKColor(0x1F, 0x77, 0xB4);
        int catPixels = 0;
        for (int y = 0; y < bitmap.Height; y++)
            for (int x = 0; x < bitmap.Width * 6 / 10; x++)
                if (bitmap.GetPixel(x, y) == catColor) catPixels++;
        Assert.True(catPixels > 100, $"only {catPixels} pixels of the cat's curve");
        Assert.Equal(["pr.png"], Directory.GetFiles(folder.File("charts")).Select(Path.GetFileName));
    }

    static string EnsureFile(string folder, string name)
    {
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}
