namespace Recipes.AnomalyDetection;

/// <summary>An anomaly written into a generated series: what kind, when it happens, and its labelled window.</summary>
public sealed record InjectedAnomaly(string Kind, DateTime Start, DateTime End, AnomalyWindow Window);

/// <summary>A generated series with the anomalies injected into it.</summary>
public sealed record GeneratedAnomalySeries(TimestampedSeries Series, IReadOnlyList<InjectedAnomaly> Anomalies)
{
    /// <summary>The labels in NAB's combined_windows.json layout, under <see cref="GeneratedDemandSeries.LabelsKey"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<AnomalyWindow>> LabelsFile() =>
        new Dictionary<string, IReadOnlyList<AnomalyWindow>> { [GeneratedDemandSeries.LabelsKey] = Anomalies.Select(a => a.Window).ToList() };

    /// <summary>Writes the series as <c>generated_taxi.csv</c> and its labels as <c>generated_windows.json</c> into <paramref name="folder"/>.</summary>
    public (string CsvPath, string WindowsPath) WriteFiles(string folder)
    {
        string csv = Path.Combine(folder, GeneratedDemandSeries.FileName), windows = Path.Combine(folder, GeneratedDemandSeries.WindowsFileName);
        TimeSeriesCsv.Write(csv, Series);
        NabWindowsFile.Write(windows, LabelsFile());
        return (csv, windows);
    }
}

/// <summary>
/// A deterministic stand-in for NAB's NYC taxi series, for running offline: the same 10,320 half-hourly
/// timestamps (2014-07-01 to 2015-01-31) and a taxi-like demand with a daily cycle (quiet before dawn, a
/// morning rise, an evening peak), a weekly one (later weekend mornings, busy Friday and Saturday nights),
/// a slow drift and correlated noise. Five anomalies of different kinds are injected, one of them in the
/// last 1,000 points (the seed's test period), each labelled with a NAB-style window of 207 points centred on
/// its start:
/// a holiday-like dip, a stuck meter (flat line), a level shift, a changed daily pattern and a spike.
/// </summary>
public static class GeneratedDemandSeries
{
    public const string FileName = "generated_taxi.csv";
    public const string WindowsFileName = "generated_windows.json";
    public const string LabelsKey = "generated/" + FileName;
    public const int DefaultSeed = 20_140_701;

    public static readonly DateTime FirstTimestamp = new(2014, 7, 1);
    public static readonly TimeSpan Step = TimeSpan.FromMinutes(30);

    /// <summary>Half the width of a label window, in steps: NAB gives each of a file's anomalies 10% of its length.</summary>
    public const int WindowHalfWidth = 103;

    const double MeanLevel = 16_000;

    public static GeneratedAnomalySeries Create(int seed = DefaultSeed, int rowCount = NabNycTaxi.RowCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowCount, 2);
        var random = new Random(seed);
        var timestamps = new DateTime[rowCount];
        var normal = new double[rowCount];
        double noise = 0;
        for (int i = 0; i < rowCount; i++)
        {
            timestamps[i] = FirstTimestamp + i * Step;
            // Correlated noise: demand stays a little high or low for a few hours, as real demand does.
            noise = 0.6 * noise + 0.025 * Gaussian(random);
            normal[i] = Demand(timestamps[i], timestamps[0], shiftHours: 0) * (1 + noise);
        }

        var values = (double[])normal.Clone();
        var anomalies = new List<InjectedAnomaly>();
        foreach (var (kind, start, duration) in Schedule)
        {
            if (start + duration > timestamps[^1]) continue; // a shorter series keeps the anomalies that fit
            int first = (int)((start - FirstTimestamp) / Step), last = (int)((start + duration - FirstTimestamp) / Step) - 1;
            Inject(kind, values, timestamps, first, last);
            var window = new AnomalyWindow(
                timestamps[Math.Max(0, first - WindowHalfWidth)],
                timestamps[Math.Min(rowCount - 1, first + WindowHalfWidth)]);
            anomalies.Add(new InjectedAnomaly(kind, start, start + duration - Step, window));
        }
        for (int i = 0; i < rowCount; i++) values[i] = Math.Max(0, Math.Round(values[i]));
        return new GeneratedAnomalySeries(new TimestampedSeries(FileName, timestamps, values), anomalies);
    }

    public const string Dip = "dip", FlatLine = "flat line", LevelShift = "level shift", ChangedSeasonality = "changed seasonality", Spike = "spike";

    /// <summary>When each anomaly starts and how long it lasts; the spike falls in the last 1,000 points.</summary>
    static readonly (string Kind, DateTime Start, TimeSpan Duration)[] Schedule =
    [
        (Dip, new DateTime(2014, 8, 27, 6, 0, 0), TimeSpan.FromHours(24)),
        (FlatLine, new DateTime(2014, 10, 1, 14, 0, 0), TimeSpan.FromHours(12)),
        (LevelShift, new DateTime(2014, 11, 5, 12, 0, 0), TimeSpan.FromHours(48)),
        (ChangedSeasonality, new DateTime(2014, 12, 10, 6, 0, 0), TimeSpan.FromHours(48)),
        (Spike, new DateTime(2015, 1, 21, 17, 0, 0), TimeSpan.FromHours(5)),
    ];

    static void Inject(string kind, double[] values, DateTime[] timestamps, int first, int last)
    {
        int length = last - first + 1;
        for (int i = first; i <= last; i++)
        {
            double progress = (i - first + 0.5) / length;
            values[i] = kind switch
            {
                Dip => values[i] * 0.45,                               // a holiday: the city stays home
                FlatLine => values[first],                              // a stuck meter repeats one reading
                LevelShift => values[i] * 1.45,                         // demand jumps for two days
                ChangedSeasonality => Demand(timestamps[i], timestamps[0], shiftHours: 9) * values[i] / Demand(timestamps[i], timestamps[0], 0),
                Spike => values[i] * (1 + 1.0 * Math.Pow(Math.Sin(Math.PI * progress), 2)), // an event crowd
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown anomaly kind"),
            };
        }
    }

    /// <summary>Expected demand at <paramref name="time"/>; <paramref name="shiftHours"/> moves the daily pattern.</summary>
    static double Demand(DateTime time, DateTime origin, double shiftHours)
    {
        // A "service day" runs from 06:00 to 06:00, so a Friday night's late hours belong to Friday.
        DateTime shifted = time.AddHours(shiftHours - 6);
        double hoursIntoServiceDay = shifted.TimeOfDay.TotalHours;
        DayOfWeek day = shifted.DayOfWeek;
        bool lateMorning = day is DayOfWeek.Saturday or DayOfWeek.Sunday;
        bool partyNight = day is DayOfWeek.Friday or DayOfWeek.Saturday;
        double shape = DailyShape(hoursIntoServiceDay, lateMorning, partyNight);
        double weekday = day switch
        {
            DayOfWeek.Monday => 0.92, DayOfWeek.Tuesday => 0.97, DayOfWeek.Wednesday => 1.0, DayOfWeek.Thursday => 1.04,
            DayOfWeek.Friday => 1.06, DayOfWeek.Saturday => 1.03, _ => 0.9,
        };
        double days = (time - origin).TotalDays;
        double drift = 1 + 0.06 * Math.Sin(2 * Math.PI * days / 150.0);
        return MeanLevel * 1.45 * shape * weekday * drift;
    }

    // Demand through a service day relative to the evening peak, at hours 0 (06:00), 1 (07:00), ... 24 (06:00 next day).
    static readonly double[] WeekdayShape = [0.22, 0.45, 0.70, 0.74, 0.68, 0.69, 0.72, 0.74, 0.76, 0.75, 0.74, 0.80, 0.92, 1.00, 0.97, 0.93, 0.88, 0.75, 0.60, 0.42, 0.30, 0.20, 0.14, 0.15, 0.22];
    static readonly double[] LateMorning = [0.22, 0.22, 0.30, 0.42, 0.55];
    static readonly double[] PartyNight = [0.92, 0.88, 0.78, 0.65, 0.50, 0.32, 0.20];

    static double DailyShape(double hour, bool lateMorning, bool partyNight)
    {
        int below = (int)Math.Floor(hour);
        double fraction = hour - below;
        double a = Knot(below, lateMorning, partyNight), b = Knot(below + 1, lateMorning, partyNight);
        // Cosine easing between hourly knots: smooth, and never overshoots them.
        double ease = (1 - Math.Cos(Math.PI * fraction)) / 2;
        return a + (b - a) * ease;
    }

    static double Knot(int hour, bool lateMorning, bool partyNight)
    {
        if (lateMorning && hour < LateMorning.Length) return LateMorning[hour];
        if (partyNight && hour >= 17 && hour - 17 < PartyNight.Length) return PartyNight[hour - 17];
        return WeekdayShape[hour];
    }

    static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
