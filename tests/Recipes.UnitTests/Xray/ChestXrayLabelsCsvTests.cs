using Recipes.Runtime.Data;
using Recipes.Tests.Summaries;
using Recipes.Xray;
using static Recipes.Tests.Xray.ChestXrayTestFiles;

namespace Recipes.Tests.Xray;

public class ChestXrayLabelsCsvTests
{
    static float[] MultiHot(params string[] findings)
    {
        var labels = new float[ChestXrayFindings.Count];
        foreach (string finding in findings) labels[ChestXrayFindings.IndexOf(finding)] = 1;
        return labels;
    }

    [Fact]
    public void No_finding_is_all_zeros_and_several_findings_are_multi_hot_in_the_fixed_order()
    {
        using var folder = new TemporaryFolder();
        string path = Write(folder.Path, "Data_Entry_2017.csv", Lines(NihHeader,
            "00000001_000.png,No Finding,0,1",
            "00000001_001.png,Effusion|Cardiomegaly,1,1",
            "",
            "00000002_000.png,Hernia|Atelectasis|Pleural_Thickening,0,2"));

        var rows = ChestXrayLabelsCsv.Read(path);

        Assert.Equal(["00000001_000.png", "00000001_001.png", "00000002_000.png"], rows.Select(row => row.ImageIndex));
        Assert.Equal(["1", "1", "2"], rows.Select(row => row.PatientId)); // as written, not the zero-padded image prefix
        Assert.Equal([2, 3, 5], rows.Select(row => row.Line));
        Assert.Equal(new float[14], rows[0].Labels);
        Assert.Equal(MultiHot("Cardiomegaly", "Effusion"), rows[1].Labels);
        Assert.Equal([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], rows[1].Labels);
        Assert.Equal(MultiHot("Atelectasis", "Pleural_Thickening", "Hernia"), rows[2].Labels);
        Assert.Equal("Atelectasis|Pleural_Thickening|Hernia", ChestXrayFindings.Format(rows[2].Labels));
    }

    [Fact]
    public void An_unknown_label_names_the_file_the_line_and_the_label()
    {
        using var folder = new TemporaryFolder();
        string path = Write(folder.Path, "Data_Entry_2017.csv", Lines(NihHeader,
            "00000001_000.png,Cardiomegaly,0,1",
            "00000001_001.png,Pneumonia|Flu,1,1"));

        var error = Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(path));

        Assert.Equal(path, error.FilePath);
        Assert.StartsWith("line 3: unknown finding 'Flu'", error.Problem);
        Assert.StartsWith(path + ": line 3:", error.Message);
    }

    [Fact]
    public void An_empty_file_and_a_file_with_only_a_header_are_errors()
    {
        using var folder = new TemporaryFolder();
        string empty = Write(folder.Path, "empty.csv", "");
        string headerOnly = Write(folder.Path, "header.csv", Lines(NihHeader, ""));

        Assert.StartsWith("empty file", Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(empty)).Problem);
        Assert.Equal("no image rows after the header", Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(headerOnly)).Problem);
        Assert.Equal("no such file", Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(Path.Combine(folder.Path, "absent.csv"))).Problem);
    }

    [Fact]
    public void A_missing_column_is_named()
    {
        using var folder = new TemporaryFolder();
        string noPatient = Write(folder.Path, "a.csv", Lines("Image Index,Finding Labels,Follow-up #", "00000001_000.png,Mass,0"));
        string onlyImage = Write(folder.Path, "b.csv", Lines("Image Index", "00000001_000.png"));

        string problem = Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(noPatient)).Problem;
        Assert.StartsWith("line 1: no 'Patient ID' column (the header has: Image Index, Finding Labels, Follow-up #)", problem);
        Assert.StartsWith("line 1: no 'Finding Labels', 'Patient ID' columns", Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(onlyImage)).Problem);
    }

    [Fact]
    public void Columns_are_found_by_name_in_any_order_with_quoted_fields_and_extra_columns()
    {
        using var folder = new TemporaryFolder();
        string path = Write(folder.Path, "reordered.csv", Lines(
            "Patient ID,\"Finding Labels\",Notes,Image Index,Patient Age",
            "7,\"Mass|Nodule\",\"seen twice, \"\"urgent\"\"\",00000007_000.png,58",
            "\"8\",No Finding,,\"00000008_000.png\",\"41\""));
        // The original Data_Entry_2017.csv: an unquoted header "OriginalImage[Width,Height]" and a trailing comma.
        string original = Write(folder.Path, "original.csv", Lines(
            "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],",
            "00000001_000.png,Cardiomegaly,0,1,058Y,M,PA,2682,2749,0.143,0.143,"));

        var rows = ChestXrayLabelsCsv.Read(path);
        Assert.Equal(["00000007_000.png", "00000008_000.png"], rows.Select(row => row.ImageIndex));
        Assert.Equal(["7", "8"], rows.Select(row => row.PatientId));
        Assert.Equal(MultiHot("Mass", "Nodule"), rows[0].Labels);
        Assert.Equal(new float[14], rows[1].Labels);

        var nih = Assert.Single(ChestXrayLabelsCsv.Read(original));
        Assert.Equal(("00000001_000.png", "1"), (nih.ImageIndex, nih.PatientId));
        Assert.Equal(MultiHot("Cardiomegaly"), nih.Labels);
    }

    [Fact]
    public void A_repeated_image_names_both_lines()
    {
        using var folder = new TemporaryFolder();
        string path = Write(folder.Path, "Data_Entry_2017.csv", Lines(NihHeader,
            "00000001_000.png,Cardiomegaly,0,1",
            "00000002_000.png,No Finding,0,2",
            "00000001_000.png,Mass,0,1"));

        Assert.Equal("line 4: image 00000001_000.png appears again (first on line 2)",
            Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(path)).Problem);
    }

    [Theory]
    [InlineData("00000001_000.png,Mass", "line 2: 2 fields, but the header puts 'Patient ID' in field 4")]
    [InlineData(" ,Mass,0,1", "line 2: the Image Index is empty")]
    [InlineData("00000001_000.png,Mass,0,  ", "line 2: the Patient ID of 00000001_000.png is empty")]
    [InlineData("00000001_000.png,,0,1", "line 2: no finding labels")]
    [InlineData("images/00000001_000.png,Mass,0,1", "line 2: the Image Index 'images/00000001_000.png' is a path")]
    [InlineData("00000001_000.png,\"Mass,0,1", "line 2: unterminated quoted field")]
    public void A_malformed_row_names_its_line(string row, string expectedStart)
    {
        using var folder = new TemporaryFolder();
        string path = Write(folder.Path, "Data_Entry_2017.csv", Lines(NihHeader, row));

        Assert.StartsWith(expectedStart, Assert.Throws<DataFileException>(() => ChestXrayLabelsCsv.Read(path)).Problem);
    }

    [Fact]
    public void The_real_labels_of_all_112120_images_are_read()
    {
        string path = Path.Combine(FullLabelsFolder, "Data_Entry_2017_v2020_labels.csv");

        var rows = ChestXrayLabelsCsv.Read(path);

        Assert.Equal(112_120, rows.Count);
        Assert.Equal(("00000001_000.png", "1", 2), (rows[0].ImageIndex, rows[0].PatientId, rows[0].Line));
        Assert.Equal(MultiHot("Cardiomegaly"), rows[0].Labels);
        Assert.Equal(("00030805_000.png", "30805", 112_121), (rows[^1].ImageIndex, rows[^1].PatientId, rows[^1].Line));
        // Counted independently with awk over the same file.
        Assert.Equal(60_361, rows.Count(row => row.Labels.All(label => label == 0)));
        Assert.Equal(227, rows.Count(row => row.Labels[ChestXrayFindings.IndexOf("Hernia")] == 1));
        Assert.Equal(13_317, rows.Count(row => row.Labels[ChestXrayFindings.IndexOf("Effusion")] == 1));
        Assert.Equal(20_796, rows.Count(row => row.Labels.Sum() >= 2));
        Assert.Equal(30_805, rows.Select(row => row.PatientId).Distinct().Count());
    }
}
