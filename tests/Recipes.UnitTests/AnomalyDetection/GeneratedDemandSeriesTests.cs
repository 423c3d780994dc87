using Recipes.AnomalyDetection;
using Recipes.Tests.Data;
using Recipes.Tests.Summaries;

namespace Recipes.Tests.AnomalyDetection;

public sealed class GeneratedDemandSeriesTests
{
    static readonly GeneratedAnomalySeries Generated = GeneratedDemandSeries.Create();

    [Fact]
    public void Has_NYC_taxis_timestamps_and_a_taxi_like_scale()
    {
        var nab = TimeSeriesCsv.Read(SharedSampleData.NycTaxiCsv);
        Assert.Equal(nab.Timestamps, Generated.Series.Timestamps);
        double mean = Generated.Series.Values.Average();
        Assert.InRange(mean, 12_000, 18_000);   // NAB's mean is 15,138
        Assert.All(Generated.Series.Values, value => Assert.True(value >= 0 && value == Math.Round(value)));
    }

    [Fact]
    public void Is_deterministic_and_follows_its_seed()
    {
        Assert.Equal(Generated.Series.Values, GeneratedDemandSeries.Create().Series.Values);
        Assert.NotEqual(Generated.Series.Values, GeneratedDemandSeries.Create(seed: 7).Series.Values);
    }

    [Fact]
    public void Has_five_anomalies_of_different_kinds_with_separate_windows_after_NABs_probation()
    {
        var anomalies = Generated.Anomalies;
        Assert.Equal(
            [GeneratedDemandSeries.Dip, GeneratedDemandSeries.FlatLine, GeneratedDemandSeries.LevelShift, GeneratedDemandSeries.ChangedSeasonality, GeneratedDemandSeries.Spike],
            anomalies.Select(a => a.Kind));
        var series = Generated.Series;
        DateTime probationEnd = series.Timestamps[NabProfile.ProbationaryRows(series.Count)];
        for (int i = 0; i < anomalies.Count; i++)
        {
            var window = anomalies[i].Window;
            Assert.True(window.Start > probationEnd);
            Assert.True(window.Contains(anomalies[i].Start) && window.Contains(anomalies[i].End));
            Assert.Equal(2 * GeneratedDemandSeries.WindowHalfWidth + 1, series.IndexAtOrAfter(window.End) - series.IndexAtOrAfter(window.Start) + 1);
            if (i > 0) Assert.True(window.Start > anomalies[i - 1].Window.End);
        }
        // One anomaly (the spike) falls in the last 1,000 points, the seed's test period.
        Assert.Single(anomalies, a => series.IndexAtOrAfter(a.Start) >= series.Count - 1000);
    }

    [Fact]
    public void The_anomalies_change_the_series_where_they_say()
    {
        var values = Generated.Series.Values;
        int At(DateTime time) => Generated.Series.IndexAtOrAfter(time);
        // Compare each anomaly with the same hours one week earlier.
        const int week = 7 * 48;
        var dip = Generated.Anomalies[0];
        Assert.True(Sum(values, At(dip.Start), At(dip.End)) < 0.6 * Sum(values, At(dip.Start) - week, At(dip.End) - week));
        var flat = Generated.Anomalies[1];
        Assert.Single(Enumerable.Range(At(flat.Start), At(flat.End) - At(flat.Start) + 1).Select(i => values[i]).Distinct());
        var shift = Generated.Anomalies[2];
        Assert.True(Sum(values, At(shift.Start), At(shift.End)) > 1.3 * Sum(values, At(shift.Start) - week, At(shift.End) - week));
        var spike = Generated.Anomalies[4];
        double spikePeak = Enumerable.Range(At(spike.Start), At(spike.End) - At(spike.Start) + 1).Max(i => values[i]);
        Assert.True(spikePeak > 1.5 * Enumerable.Range(At(spike.Start) - week, week).Max(i => values[i]));
    }

    [Fact]
    public void Files_written_for_the_offline_run_read_back_through_the_NAB_readers()
    {
        using var folder = new TemporaryFolder();
        var (csv, windows) = Generated.WriteFiles(folder.Path);
        var series = TimeSeriesCsv.Read(csv);
        Assert.Equal(Generated.Series.Values, series.Values);
        var labels = NabWindowsFile.For(NabWindowsFile.Read(windows), series.Name, windows);
        Assert.Equal(Generated.Anomalies.Select(a => a.Window), labels);
    }

    static double Sum(IReadOnlyList<double> values, int first, int last) => Enumerable.Range(first, last - first + 1).Sum(i => values[i]);
}
