using Recipes.AnomalyDetection;
using Recipes.Runtime.Data;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.AnomalyDetection;

public sealed class NabWindowsFileTests
{
    // The nyc_taxi entry as NAB's labels/combined_windows.json writes it, beside an empty and another entry.
    const string NabExcerpt = """
        {
            "artificialNoAnomaly/art_flatline.csv": [],
            "realKnownCause/nyc_taxi.csv": [
                [
                    "2014-10-30 15:30:00.000000",
                    "2014-11-03 22:30:00.000000"
                ],
                [
                    "2014-11-25 12:00:00.000000",
                    "2014-11-29 19:00:00.000000"
                ],
                [
                    "2014-12-23 11:30:00.000000",
                    "2014-12-27 18:30:00.000000"
                ],
                [
                    "2014-12-29 21:30:00.000000",
                    "2015-01-03 04:30:00.000000"
                ],
                [
                    "2015-01-24 20:30:00.000000",
                    "2015-01-29 03:30:00.000000"
                ]
            ],
            "realTraffic/speed_6005.csv": [
                [
                    "2015-09-16 18:40:00.000000",
                    "2015-09-17 16:24:00.000000"
                ]
            ]
        }
        """;

    [Fact]
    public void Reads_NABs_format_and_finds_a_series_by_its_file_name()
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("combined_windows.json");
        File.WriteAllText(path, NabExcerpt);
        var labels = NabWindowsFile.Read(path);
        Assert.Equal(3, labels.Count);
        Assert.Empty(labels["artificialNoAnomaly/art_flatline.csv"]);
        var taxi = NabWindowsFile.For(labels, "nyc_taxi.csv", path);
        Assert.Equal(NabNycTaxi.KnownWindows, taxi);
        Assert.Equal(new AnomalyWindow(new DateTime(2015, 9, 16, 18, 40, 0), new DateTime(2015, 9, 17, 16, 24, 0)), NabWindowsFile.For(labels, "speed_6005.csv", path)!.Single());
        Assert.Null(NabWindowsFile.For(labels, "other.csv", path));
    }

    [Fact]
    public void Written_labels_read_back_and_keep_NABs_layout()
    {
        using var folder = new TemporaryFolder();
        var labels = new Dictionary<string, IReadOnlyList<AnomalyWindow>> { ["realKnownCause/nyc_taxi.csv"] = NabNycTaxi.KnownWindows, ["empty.csv"] = [] };
        NabWindowsFile.Write(folder.File("w.json"), labels);
        Assert.Equal(NabExcerpt.Split('\n')[3..7], File.ReadAllText(folder.File("w.json")).Split('\n')[3..7]);
        var read = NabWindowsFile.Read(folder.File("w.json"));
        Assert.Equal(NabNycTaxi.KnownWindows, read["realKnownCause/nyc_taxi.csv"]);
        Assert.Empty(read["empty.csv"]);
    }

    [Fact]
    public void Two_keys_ending_in_the_same_file_name_are_an_error()
    {
        var labels = new Dictionary<string, IReadOnlyList<AnomalyWindow>> { ["a/x.csv"] = [], ["b/x.csv"] = [] };
        var error = Assert.Throws<DataFileException>(() => NabWindowsFile.For(labels, "x.csv", "labels.json"));
        Assert.Equal("labels.json: 2 entries match x.csv: a/x.csv, b/x.csv", error.Message);
    }

    [Theory]
    [InlineData("{", "not valid JSON")]
    [InlineData("[]", "expected an object of file name -> windows, found a list")]
    [InlineData("""{"a.csv": {}}""", "\"a.csv\": expected a list of [start, end] pairs, found an object")]
    [InlineData("""{"a.csv": [["2014-10-30 15:30:00.000000"]]}""", "\"a.csv\" window 1: expected [start, end], found 1 items")]
    [InlineData("""{"a.csv": [[1, 2]]}""", "\"a.csv\" window 1: expected a timestamp string, found a number")]
    [InlineData("""{"a.csv": [["2014-10-30", "2014-11-03 22:30:00"]]}""", "\"a.csv\" window 1: '2014-10-30' is not a timestamp")]
    [InlineData("""{"a.csv": [["2014-11-03 22:30:00", "2014-10-30 15:30:00"]]}""", "\"a.csv\" window 1: ends (2014-10-30 15:30:00) before it starts")]
    public void Malformed_labels_are_rejected_naming_the_file_and_the_entry(string content, string problem)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("bad.json");
        File.WriteAllText(path, content);
        var error = Assert.Throws<DataFileException>(() => NabWindowsFile.Read(path));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains(problem, error.Message);
    }
}
