using Recipes.AnomalyDetection;
using Recipes.Runtime.Data;
using Recipes.Tests.Data;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.AnomalyDetection;

public sealed class TimeSeriesCsvTests
{
    [Fact]
    public void Reads_NABs_NYC_taxi_file()
    {
        var series = TimeSeriesCsv.Read(SharedSampleData.NycTaxiCsv);
        Assert.Equal("nyc_taxi.csv", series.Name);
        Assert.Equal(NabNycTaxi.RowCount, series.Count);
        Assert.Equal(new DateTime(2014, 7, 1, 0, 0, 0), series.Timestamps[0]);
        Assert.Equal(10844, series.Values[0]);
        Assert.Equal(new DateTime(2014, 7, 1, 0, 30, 0), series.Timestamps[1]);
        Assert.Equal(8127, series.Values[1]);
        Assert.Equal(new DateTime(2015, 1, 31, 23, 30, 0), series.Timestamps[^1]);
        Assert.Equal(26288, series.Values[^1]);
        Assert.Equal(15137.569379844961, series.Values.Average(), 6); // the mean the seed notebook prints
    }

    [Fact]
    public void Written_series_read_back_identical()
    {
        using var folder = new TemporaryFolder();
        var series = new TimestampedSeries("s.csv", [new DateTime(2020, 1, 1), new DateTime(2020, 1, 1, 0, 30, 0)], [1.5, -2.25e7]);
        TimeSeriesCsv.Write(folder.File("s.csv"), series);
        Assert.StartsWith("timestamp,value\n2020-01-01 00:00:00,1.5\n", File.ReadAllText(folder.File("s.csv")));
        var read = TimeSeriesCsv.Read(folder.File("s.csv"));
        Assert.Equal(series.Timestamps, read.Timestamps);
        Assert.Equal(series.Values, read.Values);
    }

    [Fact]
    public void Accepts_fractional_seconds_CRLF_and_a_trailing_blank_line()
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("s.csv"), "timestamp,value\r\n2014-07-01 00:00:00.000000,1\r\n2014-07-01T00:30:00,2\r\n\r\n");
        var series = TimeSeriesCsv.Read(folder.File("s.csv"));
        Assert.Equal([1.0, 2.0], series.Values);
        Assert.Equal(new DateTime(2014, 7, 1, 0, 30, 0), series.Timestamps[1]);
    }

    [Theory]
    [InlineData("", "empty file")]
    [InlineData("time,count\n2014-07-01 00:00:00,1\n", "line 1: header is 'time,count'")]
    [InlineData("timestamp,value\n2014-07-01 00:00:00,1,2\n", "line 2: 3 fields, expected 2")]
    [InlineData("timestamp,value\n2014-07-01 00:00:00,1\n2014-07-32 00:30:00,2\n", "line 3: '2014-07-32 00:30:00' is not a timestamp")]
    [InlineData("timestamp,value\n2014-07-01 00:00:00,abc\n", "line 2: 'abc' is not a finite number")]
    [InlineData("timestamp,value\n2014-07-01 00:00:00,NaN\n", "line 2: 'NaN' is not a finite number")]
    [InlineData("timestamp,value\n2014-07-01 00:30:00,1\n2014-07-01 00:00:00,2\n", "line 3: timestamp 2014-07-01 00:00:00 does not come after 2014-07-01 00:30:00")]
    [InlineData("timestamp,value\n2014-07-01 00:30:00,1\n2014-07-01 00:30:00,2\n", "line 3: timestamp 2014-07-01 00:30:00 does not come after")]
    [InlineData("timestamp,value\n", "no rows after the header")]
    public void Malformed_files_are_rejected_naming_the_file_line_and_problem(string content, string problem)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("bad.csv");
        File.WriteAllText(path, content);
        var error = Assert.Throws<DataFileException>(() => TimeSeriesCsv.Read(path));
        Assert.StartsWith($"{path}: ", error.Message);
        Assert.Contains(problem, error.Message);
    }

    [Fact]
    public void A_missing_file_is_named()
    {
        var error = Assert.Throws<DataFileException>(() => TimeSeriesCsv.Read("/nonexistent/series.csv"));
        Assert.Equal("/nonexistent/series.csv: no such file", error.Message);
    }
}
