using Recipes.ObjectDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using Recipes.Tests.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.ObjectDetection;

/// <summary>
/// The detection data readers on hand-written VOC XML with known answers, on tiny VOC and plain folders made here,
/// on the raccoon sample in ../shared/data, and on each kind of bad input.
/// </summary>
public sealed class DetectionDataTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), $"recipes-detection-data-tests-{Guid.NewGuid():N}");
    readonly StringWriter log = new();

    public DetectionDataTests() => Directory.CreateDirectory(root);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static string Xml(string fileName, int width, int height, params string[] objects) =>
        $"<annotation><folder>VOC2007</folder><filename>{fileName}</filename>" +
        $"<size><width>{width}</width><height>{height}</height><depth>3</depth></size>{string.Concat(objects)}</annotation>";

    static string Object(string name, string xmin, string ymin, string xmax, string ymax, int difficult = 0) =>
        $"<object><name>{name}</name><pose>Left</pose><truncated>0</truncated><difficult>{difficult}</difficult>" +
        $"<bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>";

    string WriteFile(string relativePath, string text)
    {
        string path = Path.Combine(root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    void WriteJpeg(string relativePath, int width, int height)
    {
        string path = Path.Combine(root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height, new Rgb24(90, 120, 150));
        image.SaveAsJpeg(path);
    }

    [Fact]
    public void Read_converts_VOC_inclusive_one_based_boxes_to_edges_and_keeps_difficult()
    {
        string path = WriteFile("a.xml", Xml("000005.jpg", 500, 375,
            Object("chair", "263", "211", "324", "339"),
            Object("chair", "1", "1", "500", "375", difficult: 1)));

        var annotation = VocAnnotations.Read(path);

        Assert.Equal("000005.jpg", annotation.FileName);
        Assert.Equal((500, 375), (annotation.Width, annotation.Height));
        // xmin 263 is the 263rd pixel, whose left edge is at 262; xmax 324 is the 324th, whose right edge is at 324.
        Assert.Equal(new VocObject("chair", new PixelBox(262, 210, 324, 339), false), annotation.Objects[0]);
        // The whole image: 0..500 x 0..375.
        Assert.Equal(new VocObject("chair", new PixelBox(0, 0, 500, 375), true), annotation.Objects[1]);
        Assert.Equal(0, annotation.ClippedBoxes);
    }

    [Fact]
    public void Boxes_overrunning_by_a_pixel_or_two_are_clipped_and_counted()
    {
        // xmin 0 means edge -1; xmax 102 is two past the 100-pixel width.
        string path = WriteFile("a.xml", Xml("a.jpg", 100, 80, Object("cat", "0", "5", "102", "80"), Object("dog", "10", "10", "20", "20")));

        var annotation = VocAnnotations.Read(path);

        Assert.Equal(new PixelBox(0, 4, 100, 80), annotation.Objects[0].Box);
        Assert.Equal(new PixelBox(9, 9, 20, 20), annotation.Objects[1].Box);
        Assert.Equal(1, annotation.ClippedBoxes);
    }

    [Theory]
    [InlineData("<annotation><size><width>10", BadDetectionFile.MalformedXml, "line")]
    [InlineData("<picture/>", BadDetectionFile.UnknownStructure, "<picture>")]
    [InlineData("<annotation><filename>a.jpg</filename></annotation>", BadDetectionFile.MissingSize, "no <size>")]
    [InlineData("<annotation><size><width>0</width><height>5</height></size></annotation>", BadDetectionFile.MissingSize, "<width> '0'")]
    public void Malformed_or_unknown_annotations_are_errors_naming_the_file_and_element(string text, string reason, string detail)
    {
        string path = WriteFile("bad.xml", text);

        var error = Assert.Throws<DataFileException>(() => VocAnnotations.Read(path));

        Assert.Equal(path, error.FilePath);
        Assert.StartsWith(reason, error.Problem);
        Assert.Contains(detail, error.Problem);
    }

    [Theory]
    [InlineData("1", "1", "104", "10", BadDetectionFile.BoxOutside)]     // 4 pixels past the right edge
    [InlineData("-20", "1", "50", "10", BadDetectionFile.BoxOutside)]
    [InlineData("30", "5", "29", "10", BadDetectionFile.EmptyBox)]       // xmax one left of xmin: no width
    [InlineData("30", "5", "20", "10", BadDetectionFile.EmptyBox)]
    public void Boxes_outside_the_image_or_without_area_are_errors_naming_the_object(string xmin, string ymin, string xmax, string ymax, string reason)
    {
        string path = WriteFile("bad.xml", Xml("a.jpg", 100, 80, Object("dog", "2", "2", "9", "9"), Object("cat", xmin, ymin, xmax, ymax)));

        var error = Assert.Throws<DataFileException>(() => VocAnnotations.Read(path));

        Assert.StartsWith(reason, error.Problem);
        Assert.Contains("<object> 2", error.Problem);
        Assert.Contains("'cat'", error.Problem);
    }

    [Fact]
    public void ToXml_round_trips_through_Read()
    {
        var objects = new[] { new VocObject("star", new PixelBox(0, 3, 40, 41), false), new VocObject("ring", new PixelBox(10, 20, 300, 240), true) };
        string path = WriteFile("round.xml", VocAnnotations.ToXml("f", "round.jpg", 300, 240, objects));

        var annotation = VocAnnotations.Read(path);

        Assert.Equal(objects, annotation.Objects);
        Assert.Equal("round.jpg", annotation.FileName);
    }

    /// <summary>A VOC2007-like folder nested as the official tars unpack: three images, train/val/test lists.</summary>
    string MakeVoc(bool withValList = true, bool withTestList = true)
    {
        string voc = Path.Combine("VOCdevkit", "VOC2007");
        WriteFile(Path.Combine(voc, "Annotations", "000001.xml"), Xml("000001.jpg", 40, 30, Object("dog", "1", "1", "20", "20"), Object("person", "5", "6", "10", "12", difficult: 1)));
        WriteFile(Path.Combine(voc, "Annotations", "000002.xml"), Xml("000002.jpg", 50, 40, Object("aeroplane", "2", "2", "50", "40")));
        WriteFile(Path.Combine(voc, "Annotations", "000003.xml"), Xml("000003.jpg", 40, 30, Object("tvmonitor", "3", "3", "9", "9")));
        WriteFile(Path.Combine(voc, "Annotations", "000009.xml"), Xml("000009.jpg", 40, 30, Object("cat", "3", "3", "9", "9")));
        foreach (var (id, width, height) in new[] { ("000001", 40, 30), ("000002", 50, 40), ("000003", 40, 30), ("000009", 40, 30) })
            WriteJpeg(Path.Combine(voc, "JPEGImages", id + ".jpg"), width, height);
        WriteFile(Path.Combine(voc, "ImageSets", "Main", "train.txt"), "000001\n000002\n");
        if (withValList) WriteFile(Path.Combine(voc, "ImageSets", "Main", "val.txt"), "000003\n");
        if (withTestList) WriteFile(Path.Combine(voc, "ImageSets", "Main", "test.txt"), "000009\n");
        return Path.Combine(root, voc);
    }

    [Fact]
    public void A_VOC_folder_nested_in_VOCdevkit_is_found_with_VOC_class_order_and_its_official_lists()
    {
        string voc = MakeVoc();

        var folder = DetectionFolderReader.Read(root, skipBad: false, log);

        Assert.Equal(voc, folder.Folder);
        Assert.Equal(DetectionLayout.Voc, folder.Layout);
        Assert.Equal(VocAnnotations.VocClassNames, folder.ClassNames);
        Assert.Equal(["000001", "000002", "000003", "000009"], folder.Images.Select(i => i.Id));
        var first = folder.Images[0];
        Assert.Equal((40, 30), (first.Width, first.Height));
        Assert.Equal(Path.Combine(voc, "JPEGImages", "000001.jpg"), first.Path);
        // dog is VOC's 12th class, person its 15th; tvmonitor its 20th.
        Assert.Equal([new AnnotatedObject(11, new PixelBox(0, 0, 20, 20)), new AnnotatedObject(14, new PixelBox(4, 5, 10, 12), Difficult: true)], first.Objects);
        Assert.Equal(19, folder.Images[2].Objects[0].ClassIndex);

        var set = DetectionDataSet.FromFolder(folder, DataSourceKind.Local, "voc", seed: 1);
        Assert.Equal(["000001", "000002"], set.Train.Select(i => i.Id));
        Assert.Equal(["000003"], set.Validation.Select(i => i.Id));
        Assert.Equal(["000009"], set.Test.Select(i => i.Id));
        Assert.StartsWith("official lists", set.SplitMethod);
    }

    [Fact]
    public void Without_a_test_list_VOC_tests_on_its_val_list_and_validates_on_a_tenth_of_train()
    {
        MakeVoc(withTestList: false);

        var set = DetectionDataSet.FromFolder(DetectionFolderReader.Read(root, skipBad: false, log), DataSourceKind.Local, "voc", seed: 1);

        Assert.Equal(["000003"], set.Test.Select(i => i.Id));
        // Two training images: 10% rounds to 0, and at least one is held out.
        Assert.Single(set.Validation);
        Assert.Single(set.Train);
        Assert.Empty(set.Train.Select(i => i.Id).Intersect(set.Validation.Select(i => i.Id)));
        // 000009 is in no list: not used, and said so.
        Assert.Contains("Ignored 1 annotations of images in none of the split lists", log.ToString());
    }

    [Fact]
    public void Names_outside_VOCs_twenty_give_the_sorted_names_found()
    {
        WriteFile(Path.Combine("Annotations", "a.xml"), Xml("a.jpg", 20, 20, Object("zebra", "1", "1", "5", "5"), Object("ant", "1", "1", "5", "5")));
        WriteJpeg(Path.Combine("JPEGImages", "a.jpg"), 20, 20);

        var folder = DetectionFolderReader.Read(root, skipBad: false, log);

        Assert.Equal(["ant", "zebra"], folder.ClassNames);
        Assert.Equal([1, 0], folder.Images[0].Objects.Select(o => o.ClassIndex));
    }

    [Fact]
    public void The_raccoon_sample_reads_with_its_160_40_split_217_boxes_and_one_class()
    {
        string raccoon = Path.GetDirectoryName(SharedSampleData.Find(Path.Combine("raccoon", "train_labels.csv")))!;

        var folder = DetectionFolderReader.Read(raccoon, skipBad: false, log);
        var set = DetectionDataSet.FromFolder(folder, DataSourceKind.Local, "raccoon", seed: 7);

        Assert.Equal(DetectionLayout.PlainFolder, folder.Layout);
        Assert.Equal(["raccoon"], folder.ClassNames);
        Assert.Equal(200, folder.Images.Count);
        Assert.Equal(217, folder.Images.Sum(i => i.Objects.Count));
        Assert.Equal(0, folder.SkippedFiles);
        Assert.Equal(0, folder.ClippedBoxes);
        // 160 training images, a seeded 10% of them (16) held out for validation; the CSV's 40 for test.
        Assert.Equal(144, set.Train.Count);
        Assert.Equal(16, set.Validation.Count);
        Assert.Equal(40, set.Test.Count);
        Assert.Contains(set.Test, i => i.Id == "raccoon-146");
        Assert.Equal(200, set.Train.Concat(set.Validation).Concat(set.Test).Select(i => i.Id).Distinct().Count());
        // raccoon-1.xml: 650x417, xmin 81 ymin 88 xmax 522 ymax 408.
        var first = folder.Images.Single(i => i.Id == "raccoon-1");
        Assert.Equal((650, 417), (first.Width, first.Height));
        Assert.Equal(new PixelBox(80, 87, 522, 408), first.Objects.Single().Box);
        // The same seed gives the same validation images.
        var again = DetectionDataSet.FromFolder(folder, DataSourceKind.Local, "raccoon", seed: 7);
        Assert.Equal(set.Validation.Select(i => i.Id), again.Validation.Select(i => i.Id));
    }

    [Fact]
    public void A_plain_folder_without_lists_gets_a_seeded_70_10_20_split()
    {
        for (int i = 0; i < 10; i++)
        {
            WriteFile($"img{i}.xml", Xml($"img{i}.jpg", 32, 24, Object(i % 2 == 0 ? "b" : "a", "1", "1", "8", "8")));
            WriteJpeg($"img{i}.jpg", 32, 24);
        }
        WriteJpeg("unlabelled.jpg", 32, 24);

        var folder = DetectionFolderReader.Read(root, skipBad: false, log);
        var set = DetectionDataSet.FromFolder(folder, DataSourceKind.Local, "plain", seed: 3);

        Assert.Equal(["a", "b"], folder.ClassNames);
        Assert.Equal((7, 1, 2), (set.Train.Count, set.Validation.Count, set.Test.Count));
        Assert.Equal(10, set.Train.Concat(set.Validation).Concat(set.Test).Select(i => i.Id).Distinct().Count());
        Assert.Equal(1, folder.Unannotated);
        Assert.Contains("Ignored 1 images without an annotation file", log.ToString());
        Assert.Equal(set.Test.Select(i => i.Id), DetectionDataSet.FromFolder(folder, DataSourceKind.Local, "plain", seed: 3).Test.Select(i => i.Id));
    }

    /// <summary>Two good images and one bad one of the given kind, in a plain folder.</summary>
    void MakeFolderWithOneBad(string kind)
    {
        for (int i = 0; i < 2; i++)
        {
            WriteFile($"good{i}.xml", Xml($"good{i}.jpg", 32, 24, Object("a", "1", "1", "8", "8")));
            WriteJpeg($"good{i}.jpg", 32, 24);
        }
        switch (kind)
        {
            case "malformed":
                WriteFile("bad.xml", "<annotation><size>");
                WriteJpeg("bad.jpg", 32, 24);
                break;
            case "outside":
                WriteFile("bad.xml", Xml("bad.jpg", 32, 24, Object("a", "1", "1", "40", "8")));
                WriteJpeg("bad.jpg", 32, 24);
                break;
            case "zero":
                WriteFile("bad.xml", Xml("bad.jpg", 32, 24, Object("a", "5", "1", "4", "8")));
                WriteJpeg("bad.jpg", 32, 24);
                break;
            case "missing":
                WriteFile("bad.xml", Xml("bad.jpg", 32, 24, Object("a", "1", "1", "8", "8")));
                break;
            case "undecodable":
                WriteFile("bad.xml", Xml("bad.jpg", 32, 24, Object("a", "1", "1", "8", "8")));
                WriteFile("bad.jpg", "this is not a JPEG");
                break;
            case "size":
                WriteFile("bad.xml", Xml("bad.jpg", 32, 24, Object("a", "1", "1", "8", "8")));
                WriteJpeg("bad.jpg", 30, 24);
                break;
        }
    }

    [Theory]
    [InlineData("malformed", BadDetectionFile.MalformedXml, "bad.xml")]
    [InlineData("outside", BadDetectionFile.BoxOutside, "bad.xml")]
    [InlineData("zero", BadDetectionFile.EmptyBox, "bad.xml")]
    [InlineData("missing", BadDetectionFile.ImageMissing, "bad.xml")]
    [InlineData("undecodable", BadDetectionFile.ImageUndecodable, "bad.jpg")]
    [InlineData("size", BadDetectionFile.SizeMismatch, "bad.jpg")]
    public void A_bad_file_stops_the_read_naming_it_or_with_skipBad_is_skipped_and_counted(string kind, string reason, string named)
    {
        MakeFolderWithOneBad(kind);

        var error = Assert.Throws<DataFileException>(() => DetectionFolderReader.Read(root, skipBad: false, log));
        Assert.Equal(Path.Combine(root, named), error.FilePath);
        Assert.StartsWith(reason, error.Problem);

        var folder = DetectionFolderReader.Read(root, skipBad: true, log);
        Assert.Equal(["good0", "good1"], folder.Images.Select(i => i.Id));
        Assert.Equal(new Dictionary<string, int> { [reason] = 1 }, folder.SkippedByReason);
        Assert.Equal(1, folder.SkippedFiles);
        Assert.Contains($"Skipped 1 bad annotated images (1 {reason})", log.ToString());
        Assert.Contains(Path.Combine(root, named), log.ToString());
        if (kind == "size") Assert.Contains("the image is 30x24, bad.xml says 32x24", error.Problem);
    }

    [Fact]
    public void A_folder_with_neither_layout_is_an_error()
    {
        WriteJpeg("a.jpg", 10, 10);

        var error = Assert.Throws<DataFileException>(() => DetectionFolderReader.Read(root, skipBad: true, log));

        Assert.Contains("not a detection data set", error.Problem);
    }
}
