using Recipes.Runtime.Data;
using Recipes.Tests.Summaries;
using Recipes.Xray;
using static Recipes.Tests.Xray.ChestXrayTestFiles;

namespace Recipes.Tests.Xray;

public class ChestXrayDataSetTests
{
    static string ThreeImageCsv(string folder) => Write(folder, "Data_Entry_2017_v2020.csv", Lines(NihHeader,
        "00000001_000.png,Cardiomegaly,0,1",
        "00000001_001.png,No Finding,1,1",
        "00000002_000.png,Effusion|Mass,0,2"));

    [Fact]
    public void Images_are_found_in_the_nested_folders_of_the_release_and_keep_the_csv_order()
    {
        using var folder = new TemporaryFolder();
        string csv = ThreeImageCsv(folder.Path);
        string second = WritePng(folder.Path, "images_001/images/00000001_001.png");
        string first = WritePng(folder.Path, "images_002/images/00000001_000.png");
        string third = WritePng(folder.Path, "images_012/images/00000002_000.png");
        WritePng(folder.Path, "images_012/images/00000099_000.png"); // not in the CSV

        var data = ChestXrayDataSet.Load(folder.Path);

        Assert.Equal(Path.GetFullPath(folder.Path), data.Folder);
        Assert.Equal(csv, data.LabelsFile);
        Assert.Equal(["00000001_000.png", "00000001_001.png", "00000002_000.png"], data.Images.Select(image => image.ImageIndex));
        Assert.Equal([first, second, third], data.Images.Select(image => image.Path));
        Assert.Equal(["1", "1", "2"], data.Images.Select(image => image.PatientId));
        Assert.Equal("Effusion|Mass", ChestXrayFindings.Format(data.Images[2].Labels));
        Assert.Equal(0, data.MissingSkipped);
        Assert.Equal(1, data.UnlistedImages);
        Assert.Null(data.OfficialTrainVal);
        Assert.Null(data.OfficialTest);
    }

    [Fact]
    public void A_listed_image_that_is_missing_names_the_csv_line_unless_missing_images_are_skipped()
    {
        using var folder = new TemporaryFolder();
        string csv = ThreeImageCsv(folder.Path);
        WritePng(folder.Path, "images_001/images/00000001_000.png");
        WritePng(folder.Path, "images_001/images/00000002_000.png");

        var error = Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path));
        Assert.Equal(csv, error.FilePath);
        Assert.Equal($"line 3: 00000001_001.png is listed but not found under {folder.Path}; --skip-missing skips such rows", error.Problem);

        var data = ChestXrayDataSet.Load(folder.Path, skipMissing: true);
        Assert.Equal(["00000001_000.png", "00000002_000.png"], data.Images.Select(image => image.ImageIndex));
        Assert.Equal(1, data.MissingSkipped);
        Assert.Equal(0, data.UnlistedImages);
    }

    [Fact]
    public void No_image_found_at_all_is_an_error_even_when_skipping_missing_ones()
    {
        using var folder = new TemporaryFolder();
        ThreeImageCsv(folder.Path);
        WritePng(folder.Path, "other.png");

        Assert.StartsWith("none of the 3 images it lists is under",
            Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path, skipMissing: true)).Problem);
    }

    [Fact]
    public void Two_labels_files_or_none_is_an_error_listing_what_was_found()
    {
        using var folder = new TemporaryFolder();
        WritePng(folder.Path, "images/00000001_000.png");
        Write(folder.Path, "notes.txt", "hello");
        Write(folder.Path, "labels.csv", Lines(NihHeader)); // not named like the NIH file

        var none = Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path));
        Assert.Equal(folder.Path, none.FilePath);
        Assert.Equal("no labels file Data_Entry_2017*.csv directly in it (found: images/, labels.csv, notes.txt)", none.Problem);

        ThreeImageCsv(folder.Path);
        Write(folder.Path, "Data_Entry_2017.csv", Lines(NihHeader, "00000001_000.png,Mass,0,1"));
        Assert.Equal("2 labels files match Data_Entry_2017*.csv (Data_Entry_2017.csv, Data_Entry_2017_v2020.csv); keep exactly one",
            Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path)).Problem);
    }

    [Fact]
    public void The_same_image_name_in_two_folders_names_both_paths()
    {
        using var folder = new TemporaryFolder();
        ThreeImageCsv(folder.Path);
        string a = WritePng(folder.Path, "images_001/images/00000001_000.png");
        string b = WritePng(folder.Path, "images_002/images/00000001_000.png");

        var problem = Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path)).Problem;
        Assert.Equal($"two images named 00000001_000.png: {a} and {b}; keep one", problem);
    }

    [Fact]
    public void The_official_lists_beside_the_csv_are_read_and_may_not_share_an_image()
    {
        using var folder = new TemporaryFolder();
        ThreeImageCsv(folder.Path);
        foreach (string name in new[] { "00000001_000.png", "00000001_001.png", "00000002_000.png" }) WritePng(folder.Path, "images/" + name);
        Write(folder.Path, "train_val_list.txt", Lines("00000001_000.png", "00000001_001.png", ""));
        Write(folder.Path, "test_list.txt", "00000002_000.png"); // NIH's lists end without a newline

        var data = ChestXrayDataSet.Load(folder.Path);
        Assert.Equal(["00000001_000.png", "00000001_001.png"], data.OfficialTrainVal!.Order());
        Assert.Equal(["00000002_000.png"], data.OfficialTest!);

        string test = Write(folder.Path, "test_list.txt", Lines("00000002_000.png", "00000001_001.png"));
        var error = Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder.Path));
        Assert.Equal(test, error.FilePath);
        Assert.Equal("line 2: 00000001_001.png is also in train_val_list.txt (line 2)", error.Problem);
    }

    [Fact]
    public void The_real_sample_with_labels_for_every_image_loads_its_8_pngs_and_the_official_lists()
    {
        string folder = FullLabelsFolder;

        Assert.StartsWith("line 3: 00000001_001.png is listed but not found under",
            Assert.Throws<DataFileException>(() => ChestXrayDataSet.Load(folder)).Problem);
        var data = ChestXrayDataSet.Load(folder, skipMissing: true);

        Assert.Equal(["00000001_000.png", "00000002_000.png", "00000013_001.png", "00000013_002.png", "00000013_026.png",
            "00000032_049.png", "00000032_053.png", "00000143_009.png"], data.Images.Select(image => image.ImageIndex));
        Assert.All(data.Images, image => Assert.True(File.Exists(image.Path), image.Path));
        Assert.Equal(["1", "2", "13", "13", "13", "32", "32", "143"], data.Images.Select(image => image.PatientId));
        Assert.Equal(["Cardiomegaly", "No Finding", "Pneumothorax|Emphysema", "Pneumothorax|Emphysema", "Cardiomegaly|Emphysema",
            "No Finding", "Cardiomegaly", "Atelectasis"], data.Images.Select(image => ChestXrayFindings.Format(image.Labels)));
        Assert.Equal(112_120 - 8, data.MissingSkipped);
        Assert.Equal(0, data.UnlistedImages);
        Assert.Equal(86_524, data.OfficialTrainVal!.Count);
        Assert.Equal(25_596, data.OfficialTest!.Count);
        Assert.Contains("00000001_000.png", data.OfficialTrainVal);
        Assert.Contains("00030805_000.png", data.OfficialTest);
    }

    [Fact]
    public void The_real_starter_sample_loads_its_414_images_without_official_lists()
    {
        var data = ChestXrayDataSet.Load(StarterFolder);

        Assert.Equal(414, data.Images.Count);
        Assert.Equal(414, data.Images.Select(image => image.PatientId).Distinct().Count()); // one image per patient
        Assert.Equal(69, data.Images.Count(image => image.Labels.All(label => label == 0))); // "No Finding", as its README says
        Assert.All(data.Images, image => Assert.True(File.Exists(image.Path), image.Path));
        Assert.Equal((0, 0), (data.MissingSkipped, data.UnlistedImages));
        Assert.Null(data.OfficialTrainVal);
        Assert.Null(data.OfficialTest);
    }
}
