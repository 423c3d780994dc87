using System.Diagnostics;
using System.Text.Json;
using Recipes.Runtime.IO;
using Recipes.Runtime.Summaries;
using ScottPlot;

namespace Recipes.Runtime.Distributed.Cluster;

/// <summary>One thing that happened to a cluster job, <see cref="Seconds"/> after the driver started.</summary>
/// <param name="Kind">joined, refused, ring, lost, finished, left, or epoch (a member's time in the ring's gradient sums
/// over the epoch that just ended, in <paramref name="Detail"/>).</param>
/// <param name="Workers">The worker concerned, or a new ring's members by rank.</param>
public sealed record ClusterEvent(double Seconds, string Kind, long Step, int[] Workers, string Detail);

/// <summary>
/// The driver's record of a job: who joined, each ring generation and its members, who was lost at which
/// step, who finished. Written as <c>cluster.json</c> and drawn as <c>cluster-timeline.png</c>: one lane per
/// worker, a bar for each ring generation it trained in, so a lost worker, the ring that re-formed without it
/// and a late joiner entering at an epoch boundary can be seen at a glance.
/// </summary>
public sealed class ClusterTimeline
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly List<ClusterEvent> _events = [];

    /// <summary>A copy: the driver's actor may still add events while the job's end is being written.</summary>
    public IReadOnlyList<ClusterEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    public void Add(string kind, long step, int[] workers, string detail = "")
    {
        lock (_events) _events.Add(new ClusterEvent(_clock.Elapsed.TotalSeconds, kind, step, workers, detail));
    }

    public void WriteJson(string path) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(Events, new JsonSerializerOptions { WriteIndented = true }));

    static readonly Color[] GenerationColors = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Purple, Colors.Brown, Colors.Teal];

    public void WritePng(string path, string title)
    {
        var events = Events;
        using var plot = new Plot();
        if (SansSerifFont.FamilyName is string family) plot.Font.Set(family);
        plot.Title(title, size: 16);
        plot.XLabel("seconds since the driver started");
        double end = events.Count == 0 ? 1 : Math.Max(events[^1].Seconds, 0.001);
        int workerCount = events.SelectMany(e => e.Workers).DefaultIfEmpty(-1).Max() + 1;

        // A bar per worker per ring generation, from the ring's formation to the next one (or the worker's end).
        var rings = events.Where(e => e.Kind == "ring").ToList();
        for (int g = 0; g < rings.Count; g++)
        {
            var color = GenerationColors[g % GenerationColors.Length];
            double from = rings[g].Seconds;
            double to = g + 1 < rings.Count ? rings[g + 1].Seconds : end;
            bool labelled = false;
            foreach (int worker in rings[g].Workers)
            {
                double stop = Math.Min(to, EndOf(events, worker) ?? to);
                var bar = plot.Add.Line(from, -worker, stop, -worker);
                bar.Color = color;
                bar.LineWidth = 14;
                if (!labelled) bar.LegendText = $"ring {g + 1}: {rings[g].Workers.Length} worker{(rings[g].Workers.Length == 1 ? "" : "s")} from step {rings[g].Step}";
                labelled = true;
            }
            var formed = plot.Add.VerticalLine(from, 1, color.WithAlpha(0.6), LinePattern.Dashed);
            formed.LegendText = "";
        }
        string lostLegend = "lost", joinedLegend = "joined", finishedLegend = "finished"; // one legend entry per kind
        foreach (var lost in events.Where(e => e.Kind == "lost"))
        {
            plot.Add.Marker(lost.Seconds, -lost.Workers[0], MarkerShape.Eks, 16, Colors.Red).LegendText = lostLegend;
            lostLegend = "";
            var text = plot.Add.Text($"lost at step {lost.Step}", lost.Seconds, -lost.Workers[0] + 0.3);
            text.LabelFontColor = Colors.Red;
            text.LabelFontSize = 12;
        }
        foreach (var joined in events.Where(e => e.Kind == "joined"))
        {
            plot.Add.Marker(joined.Seconds, -joined.Workers[0], MarkerShape.OpenCircle, 10, Colors.Black).LegendText = joinedLegend;
            joinedLegend = "";
        }
        foreach (var finished in events.Where(e => e.Kind is "finished" or "left"))
        {
            bool success = finished.Detail == "exit code 0";
            plot.Add.Marker(finished.Seconds, -finished.Workers[0], MarkerShape.FilledSquare, 9, success ? Colors.Black : Colors.Red).LegendText =
                success ? finishedLegend : $"ended with {finished.Detail}";
            if (success) finishedLegend = "";
        }

        // Each member's share of the epoch spent in the ring's sums (transfers, waiting for a slower member or link),
        // written under its lane at the epoch's end while there are few enough epochs to read them.
        var epochs = events.Where(e => e.Kind == "epoch").ToList();
        if (epochs.Count <= 20 * Math.Max(1, workerCount))
            foreach (var epoch in epochs)
            {
                var share = System.Text.RegularExpressions.Regex.Match(epoch.Detail, @"ring ([\d.]+) s of ([\d.]+) s");
                if (!share.Success) continue;
                double ring = double.Parse(share.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                double total = double.Parse(share.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                var text = plot.Add.Text($"ring {100 * ring / Math.Max(total, 1e-9):F0}%", epoch.Seconds, -epoch.Workers[0] - 0.22);
                text.LabelFontColor = Colors.DimGray;
                text.LabelFontSize = 10;
                text.LabelAlignment = Alignment.UpperRight;
            }

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int worker = 0; worker < workerCount; worker++) ticks.AddMajor(-worker, $"worker {worker}");
        plot.Axes.Left.TickGenerator = ticks;
        plot.Axes.Left.MinimumSize = 80;
        plot.Axes.SetLimits(-end * 0.02, end * 1.05, -workerCount + 0.4, 0.8);
        plot.Legend.Orientation = Orientation.Horizontal;
        plot.ShowLegend(Edge.Bottom); // below the chart: inside it would hide a lane
        using var image = plot.GetImage(1000, 190 + 70 * Math.Max(1, workerCount));
        AtomicFile.WriteAllBytes(path, image.GetImageBytes(ImageFormat.Png, 100));
    }

    static double? EndOf(IReadOnlyList<ClusterEvent> events, int worker) =>
        events.LastOrDefault(e => e.Kind is "lost" or "finished" or "left" && e.Workers.Length == 1 && e.Workers[0] == worker)?.Seconds;
}
