using Recipes.Runtime.Data.Download;

namespace Recipes.AnomalyDetection;

/// <summary>
/// NAB's NYC taxi series (realKnownCause/nyc_taxi.csv: passengers every 30 minutes, 2014-07-01 to
/// 2015-01-31, 10,320 rows) and its five labelled anomaly windows.
/// </summary>
public static class NabNycTaxi
{
    public const string FileName = "nyc_taxi.csv";

    /// <summary>The key of this series in NAB's <c>labels/combined_windows.json</c>.</summary>
    public const string LabelsKey = "realKnownCause/nyc_taxi.csv";

    public const int RowCount = 10_320;

    /// <summary>
    /// The CSV at NAB commit ea702d75 (a fixed commit, so the checksum can never go stale; the file has not
    /// changed since 2015). 265,771 bytes.
    /// </summary>
    public static RemoteFile Csv { get; } = new(
        new Uri("https://raw.githubusercontent.com/numenta/NAB/ea702d75cc2258d9d7dd35ca8e5e2539d71f3140/data/realKnownCause/nyc_taxi.csv"),
        FileName,
        "d8fa6f7f0734bf5c8be12c52a94e20a82664c397d9dec4449156bd453d32856d");

    /// <summary>
    /// The windows NAB's combined_windows.json gives this series: the NYC marathon, Thanksgiving, Christmas,
    /// New Year and the January 2015 blizzard, each about 4.3 days (10% of the series shared between five
    /// anomalies) centred on the labelled moment.
    /// </summary>
    public static IReadOnlyList<AnomalyWindow> KnownWindows { get; } =
    [
        new(new DateTime(2014, 10, 30, 15, 30, 0), new DateTime(2014, 11, 3, 22, 30, 0)),
        new(new DateTime(2014, 11, 25, 12, 0, 0), new DateTime(2014, 11, 29, 19, 0, 0)),
        new(new DateTime(2014, 12, 23, 11, 30, 0), new DateTime(2014, 12, 27, 18, 30, 0)),
        new(new DateTime(2014, 12, 29, 21, 30, 0), new DateTime(2015, 1, 3, 4, 30, 0)),
        new(new DateTime(2015, 1, 24, 20, 30, 0), new DateTime(2015, 1, 29, 3, 30, 0)),
    ];

    public static readonly IReadOnlyList<string> KnownWindowNames = ["NYC marathon", "Thanksgiving", "Christmas", "New Year", "January blizzard"];
}
