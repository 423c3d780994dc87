using Recipes.AnomalyDetection;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;
using Recipes.Tests.Data;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.AnomalyDetection;

public sealed class AnomalySeriesDataSetsTests
{
    [Fact]
    public void The_published_checksum_is_that_of_NABs_file()
    {
        Assert.Equal(NabNycTaxi.Csv.Sha256, FileChecksum.Sha256Hex(SharedSampleData.NycTaxiCsv));
        Assert.EndsWith("/data/realKnownCause/nyc_taxi.csv", NabNycTaxi.Csv.Url.AbsolutePath);
    }

    [Fact]
    public void A_local_NYC_taxi_file_or_its_folder_comes_with_NABs_windows()
    {
        using var folder = new TemporaryFolder();
        foreach (string path in new[] { SharedSampleData.NycTaxiCsv, Path.GetDirectoryName(SharedSampleData.NycTaxiCsv)! })
        {
            var data = AnomalySeriesDataSets.Resolve(path, folder.File("cache"), offline: true, folder.File("generated"), TextWriter.Null);
            Assert.Equal(DataSourceKind.Local, data.Source);
            Assert.Equal(NabNycTaxi.RowCount, data.Series.Count);
            Assert.Equal(NabNycTaxi.KnownWindows, data.Windows);
            Assert.Equal("January blizzard", data.WindowNames![4]);
        }
    }

    [Fact]
    public void A_verified_cached_download_is_used_before_generating()
    {
        using var folder = new TemporaryFolder();
        Directory.CreateDirectory(folder.File("cache/nab"));
        File.Copy(SharedSampleData.NycTaxiCsv, folder.File("cache/nab/nyc_taxi.csv"));
        var data = AnomalySeriesDataSets.Resolve(null, folder.File("cache"), offline: true, folder.File("generated"), TextWriter.Null);
        Assert.Equal(DataSourceKind.Cache, data.Source);
        Assert.Equal(5, data.Windows!.Count);

        // A cached file whose checksum does not match is not trusted.
        File.AppendAllText(folder.File("cache/nab/nyc_taxi.csv"), "\n");
        var log = new StringWriter();
        var fallback = AnomalySeriesDataSets.Resolve(null, folder.File("cache"), offline: true, folder.File("generated"), log);
        Assert.Equal(DataSourceKind.Generated, fallback.Source);
        Assert.Contains("GENERATED", log.ToString());
    }

    [Fact]
    public void Offline_without_data_writes_and_reads_a_generated_series_with_its_own_labels()
    {
        using var folder = new TemporaryFolder();
        var data = AnomalySeriesDataSets.Resolve(null, folder.File("cache"), offline: true, folder.File("generated"), TextWriter.Null);
        Assert.Equal(DataSourceKind.Generated, data.Source);
        Assert.True(File.Exists(folder.File("generated/generated_taxi.csv")));
        Assert.Equal(folder.File("generated/generated_windows.json"), data.WindowsOrigin);
        Assert.Equal(GeneratedDemandSeries.Create().Anomalies.Select(a => a.Window), data.Windows);
        Assert.Equal(GeneratedDemandSeries.Spike, data.WindowNames![4]);
    }

    [Fact]
    public void Another_series_has_no_labels_unless_a_windows_file_names_it()
    {
        using var folder = new TemporaryFolder();
        var series = new TimestampedSeries("other.csv", [new DateTime(2020, 1, 1), new DateTime(2020, 1, 2)], [1.0, 2.0]);
        TimeSeriesCsv.Write(folder.File("other.csv"), series);
        var data = AnomalySeriesDataSets.Resolve(folder.File("other.csv"), folder.File("cache"), offline: true, folder.File("generated"), TextWriter.Null);
        Assert.Null(data.Windows);

        NabWindowsFile.Write(folder.File("labels.json"), new Dictionary<string, IReadOnlyList<AnomalyWindow>> { ["mine/other.csv"] = [new(series.Timestamps[0], series.Timestamps[1])] });
        Assert.Single(AnomalySeriesDataSets.WindowsFromFile(folder.File("labels.json"), data.Series));
        var error = Assert.Throws<DataFileException>(() => AnomalySeriesDataSets.WindowsFromFile(folder.File("labels.json"), series with { Name = "x.csv" }));
        Assert.Contains("no windows for x.csv", error.Message);
    }

    [Fact]
    public void A_data_folder_without_the_file_is_named()
    {
        using var folder = new TemporaryFolder();
        var error = Assert.Throws<DataFileException>(() => AnomalySeriesDataSets.Resolve(folder.Path, folder.File("cache"), true, folder.File("g"), TextWriter.Null));
        Assert.Equal($"{folder.Path}: no nyc_taxi.csv in this folder (pass the CSV file itself for another series)", error.Message);
    }
}
