// The report of --target=all: artifacts/report/index.html and report.md. For each recipe run: whether it passed,
// its headline metrics (read from its metrics.json), its charts (copied beside the report, so the folder can be
// opened or sent on its own), its run time and where its data came from; and, in one table, what the workshop and
// public references measured with full training (DESIGN.md section 6), which a quick smoke run cannot be compared to.

using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
// Cake scripts have File, Directory and Path of their own.
using IODirectory = System.IO.Directory;
using IOFile = System.IO.File;
using IOPath = System.IO.Path;

/// <summary>What the workshop (the seed's notebooks) and public references measured for a recipe, and which of its
/// metrics.json figures the report puts in front.</summary>
sealed record RecipeReference(string Title, string[] Headline, string Measure, string Workshop, string Reference);

static class RecipeReferences
{
    // DESIGN.md section 6; "-" where the workshop or the literature gives no figure.
    public static readonly RecipeReference[] All =
    [
        new("mnist", ["test_accuracy", "test_error"], "test error on MNIST",
            "- (the notebook's model was a multilayer perceptron)", "LeNet-5: 0.95% test error; small CNNs on Fashion-MNIST: 0.88-0.92 accuracy"),
        new("image-augmentation", ["pixel_normalise_ms", "slowest_op_ms", "operations"], "pixel normalise on one image",
            "about 59 s", "- (milliseconds expected)"),
        new("transfer-learning", ["test_accuracy", "test_error"], "test error, cats vs dogs",
            "0.0234 on about 214 validation images (Inception-v1)", "-"),
        new("image-similarity", ["precision@1", "precision@5", "precision@3"], "precision@K on a labelled folder",
            "- (score = class match + cosine)", "-"),
        new("ncf-recommendation (explicit)", ["test_mae", "test_rmse"], "test MAE of predicted stars, MovieLens-1M",
            "0.692", "-"),
        new("ncf-recommendation (implicit)", ["test_hr@10", "test_ndcg@10"], "HR@10 / NDCG@10, MovieLens-1M leave-one-out",
            "- (explicit ratings only)", "NeuMF (NCF paper): 0.705 / 0.426 from scratch, 0.730 / 0.447 pretrained"),
        new("anomaly-detection", ["windows_detected", "windows_total", "false_positives", "nab_score"], "NYC taxi: known anomalies found",
            "the 1% largest LSTM forecast errors flagged (no score)",
            "NAB labels five: NYC marathon, Thanksgiving, Christmas, New Year's Day, January 2015 snowstorm"),
        new("xray", ["test_mean_auc", "validation_mean_auc"], "mean AUC-ROC over 14 findings, ChestX-ray14",
            "0.809 (ResNet-50, validation)", "CheXNet: 0.841"),
        new("object-detection", ["test_map@0.5", "validation_map@0.5"], "mAP@0.5, PASCAL VOC 2007 test",
            "-", "SSD300: 0.743-0.772; MobileNet-SSD: 0.727"),
    ];

    public static RecipeReference For(string title) => All.FirstOrDefault(reference => reference.Title == title);
}

/// <summary>A run as the report shows it: the run itself and what it left in its folder.</summary>
sealed class ReportedRun
{
    public RecipeRun Run { get; init; }
    public string Slug { get; init; }
    /// <summary>Why the run counts as failed (a non-zero exit, or no readable metrics.json), or null.</summary>
    public string Failure { get; set; }
    public string Dataset { get; set; }
    public string DataSource { get; set; }
    public int? Epochs { get; set; }
    public int? Workers { get; set; }
    public double? WallSeconds { get; set; }
    public List<KeyValuePair<string, double?>> Metrics { get; } = new();
    /// <summary>Charts copied into the report folder, relative to it.</summary>
    public List<string> Charts { get; } = new();
    public bool Passed => Failure is null;

    public IEnumerable<KeyValuePair<string, double?>> Headline()
    {
        var wanted = RecipeReferences.For(Run.Title)?.Headline ?? [];
        var chosen = Metrics.Where(metric => wanted.Contains(metric.Key)).OrderBy(metric => Array.IndexOf(wanted, metric.Key)).ToList();
        // A recipe whose metric names changed still shows something: its first figures.
        return chosen.Count > 0 ? chosen : Metrics.Take(3);
    }
}

static class QuickRunReport
{
    public const string Banner = "Smoke run, not a benchmark. Every recipe ran its offline default in quick mode (generated data, " +
        "one epoch or a few, a few samples; each recipe's options are listed below) to show that it still runs end to end and writes " +
        "its results. These numbers are not comparable to full training, nor to the reference figures.";

    /// <summary>Writes the report into <paramref name="reportFolder"/>, replacing the previous one whole: it is built in
    /// a folder beside it and renamed into place, so a reader never sees half a report or a previous run's charts.</summary>
    public static List<ReportedRun> Write(string reportFolder, IReadOnlyList<RecipeRun> runs, DateTime finishedUtc)
    {
        reportFolder = IOPath.GetFullPath(reportFolder);
        string parent = IOPath.GetDirectoryName(reportFolder);
        IODirectory.CreateDirectory(parent);
        string staging = IOPath.Combine(parent, $".report-{Guid.NewGuid():N}.tmp");
        string previous = IOPath.Combine(parent, $".report-{Guid.NewGuid():N}.old");
        try
        {
            IODirectory.CreateDirectory(staging);
            var reported = runs.Select(run => Read(run, staging)).ToList();
            IOFile.WriteAllText(IOPath.Combine(staging, "index.html"), Html(reported, finishedUtc), new UTF8Encoding(false));
            IOFile.WriteAllText(IOPath.Combine(staging, "report.md"), Markdown(reported, finishedUtc), new UTF8Encoding(false));
            if (IODirectory.Exists(reportFolder)) IODirectory.Move(reportFolder, previous);
            IODirectory.Move(staging, reportFolder);
            return reported;
        }
        finally
        {
            if (IODirectory.Exists(staging)) IODirectory.Delete(staging, recursive: true);
            // The previous report goes once the new one is in place; if that failed, it comes back.
            if (IODirectory.Exists(previous))
            {
                if (IODirectory.Exists(reportFolder)) IODirectory.Delete(previous, recursive: true);
                else IODirectory.Move(previous, reportFolder);
            }
        }
    }

    /// <summary>Reads a run's metrics.json and copies its charts (the PNG and GIF files at the top of its folder).</summary>
    static ReportedRun Read(RecipeRun run, string reportFolder)
    {
        var reported = new ReportedRun { Run = run, Slug = Slug(run.Title) };
        reported.Failure = run.Failure;
        string metricsPath = IOPath.Combine(run.ResultsFolder, "metrics.json");
        if (IOFile.Exists(metricsPath))
        {
            try
            {
                using var document = JsonDocument.Parse(IOFile.ReadAllText(metricsPath));
                var root = document.RootElement;
                reported.Dataset = Text(root, "dataset");
                reported.DataSource = Text(root, "data_source");
                reported.Epochs = Number(root, "epochs") is double epochs ? (int)epochs : null;
                reported.Workers = Number(root, "workers") is double workers ? (int)workers : null;
                reported.WallSeconds = Number(root, "wall_seconds");
                if (root.TryGetProperty("metrics", out var metrics) && metrics.ValueKind == JsonValueKind.Object)
                    foreach (var metric in metrics.EnumerateObject())
                        reported.Metrics.Add(new(metric.Name, metric.Value.ValueKind == JsonValueKind.Number ? metric.Value.GetDouble() : null));
            }
            catch (JsonException error)
            {
                reported.Failure ??= $"metrics.json is not valid JSON ({error.Message})";
            }
        }
        else reported.Failure ??= "it wrote no metrics.json";

        if (IODirectory.Exists(run.ResultsFolder))
        {
            var charts = IODirectory.GetFiles(run.ResultsFolder, "*.png").Concat(IODirectory.GetFiles(run.ResultsFolder, "*.gif"))
                .OrderBy(path => IOPath.GetFileName(path) == "training.png" ? 0 : 1).ThenBy(path => IOPath.GetFileName(path), StringComparer.Ordinal);
            foreach (string chart in charts)
            {
                IODirectory.CreateDirectory(IOPath.Combine(reportFolder, reported.Slug));
                string relative = $"{reported.Slug}/{IOPath.GetFileName(chart)}";
                IOFile.Copy(chart, IOPath.Combine(reportFolder, reported.Slug, IOPath.GetFileName(chart)));
                reported.Charts.Add(relative);
            }
        }
        return reported;
    }

    static string Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    /// <summary>A folder name for a run's charts: "ncf-recommendation (explicit)" -> "ncf-recommendation-explicit".</summary>
    static string Slug(string title) => Regex.Replace(title.ToLowerInvariant(), "[^a-z0-9]+", "-").Trim('-');

    public static string Figure(double? value) => value switch
    {
        null => "n/a",
        double v when Math.Abs(v) >= 1000 => v.ToString("#,0", CultureInfo.InvariantCulture),
        double v => v.ToString("0.####", CultureInfo.InvariantCulture),
    };

    public static string Duration(TimeSpan elapsed) => elapsed.TotalSeconds < 60
        ? $"{elapsed.TotalSeconds:0} s"
        : $"{(int)elapsed.TotalMinutes} min {elapsed.Seconds} s";

    static string Status(ReportedRun run) => run.Passed ? "passed" : $"FAILED: {run.Failure}";

    static string Data(ReportedRun run) => run.DataSource switch
    {
        null => "-",
        "generated" => $"generated offline ({run.Dataset})",
        string source => $"{source} ({run.Dataset})",
    };

    static string Machine() =>
        $"{RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant()}, {Environment.ProcessorCount} cores, .NET {Environment.Version}";

    static string Totals(IReadOnlyList<ReportedRun> runs, DateTime finishedUtc) =>
        $"{runs.Count(run => run.Passed)} of {runs.Count} runs passed; {Duration(TimeSpan.FromTicks(runs.Sum(run => run.Run.Elapsed.Ticks)))} in all; " +
        $"finished {finishedUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC on {Machine()}.";

    static string Command(RecipeRun run) => $"dotnet run --project recipes/{run.Recipe} -c Release -- {ShowArguments(run.Arguments)}";

    const string ReferenceNote = "Figures from full training on the real data sets, as the workshop (its seed notebooks) and the literature " +
        "report them. A quick run trains one epoch or a few on a few hundred or thousand generated samples: its numbers only show the " +
        "recipe works, and cannot be compared with these.";

    // ---- HTML ----

    static string H(string text) => WebUtility.HtmlEncode(text ?? "");

    static string Html(IReadOnlyList<ReportedRun> runs, DateTime finishedUtc)
    {
        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>");
        html.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        html.AppendLine("<title>Recipes: quick smoke run</title>");
        html.AppendLine("<style>");
        html.AppendLine("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.45}");
        html.AppendLine("table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}");
        html.AppendLine("th{background:#f3f3f3}td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}code,pre{font-family:ui-monospace,monospace;font-size:.9em}");
        html.AppendLine("pre{background:#f7f7f7;border:1px solid #ddd;padding:.6em;overflow-x:auto;white-space:pre-wrap}");
        html.AppendLine(".smoke{background:#fff6d6;border:1px solid #e0c060;padding:.7em 1em}.passed{color:#176b2c;font-weight:600}.failed{color:#b00020;font-weight:600}");
        html.AppendLine("figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}figure img{max-width:100%;max-height:480px;border:1px solid #ddd}");
        html.AppendLine("section{border-top:1px solid #ddd;margin-top:1.5em}.note{color:#555;font-size:.95em}");
        html.AppendLine("</style></head><body>");
        html.AppendLine("<h1>Recipes: quick smoke run of every recipe</h1>");
        html.AppendLine($"<p class=\"smoke\"><strong>{H(Banner)}</strong></p>");
        html.AppendLine($"<p>{H(Totals(runs, finishedUtc))}</p>");

        html.AppendLine("<h2>Summary</h2>");
        html.AppendLine("<table><tr><th>recipe</th><th>status</th><th>data</th><th>headline metrics (quick mode)</th><th>run time</th></tr>");
        foreach (var run in runs)
        {
            string headline = string.Join("<br>", run.Headline().Select(metric => $"{H(metric.Key)} <strong>{H(Figure(metric.Value))}</strong>"));
            html.AppendLine($"<tr><td><a href=\"#{run.Slug}\">{H(run.Run.Title)}</a></td><td class=\"{(run.Passed ? "passed" : "failed")}\">{H(Status(run))}</td>" +
                $"<td>{H(Data(run))}</td><td>{(headline.Length > 0 ? headline : "-")}</td><td class=\"num\">{H(Duration(run.Run.Elapsed))}</td></tr>");
        }
        html.AppendLine("</table>");

        html.AppendLine("<h2>Reference figures (full training: not comparable to quick mode)</h2>");
        html.AppendLine($"<p class=\"note\">{H(ReferenceNote)}</p>");
        html.AppendLine("<table><tr><th>recipe</th><th>measure</th><th>workshop (seed notebooks)</th><th>public reference</th><th>this quick run</th></tr>");
        foreach (var reference in RecipeReferences.All)
        {
            var run = runs.FirstOrDefault(candidate => candidate.Run.Title == reference.Title);
            string quick = run is null ? "not run" : string.Join(", ", run.Headline().Take(2).Select(metric => $"{metric.Key} {Figure(metric.Value)}"));
            html.AppendLine($"<tr><td>{H(reference.Title)}</td><td>{H(reference.Measure)}</td><td>{H(reference.Workshop)}</td><td>{H(reference.Reference)}</td>" +
                $"<td>{H(run is { Passed: false } ? "failed" : quick)}</td></tr>");
        }
        html.AppendLine("</table>");

        foreach (var run in runs)
        {
            html.AppendLine($"<section id=\"{run.Slug}\"><h2>{H(run.Run.Title)} <span class=\"{(run.Passed ? "passed" : "failed")}\">{H(Status(run))}</span></h2>");
            html.AppendLine($"<p>Data: {H(Data(run))}. Epochs: {H(run.Epochs?.ToString(CultureInfo.InvariantCulture) ?? "-")}; " +
                $"workers: {H(run.Workers?.ToString(CultureInfo.InvariantCulture) ?? "-")}. Run time {H(Duration(run.Run.Elapsed))}" +
                $"{(run.WallSeconds is double wall ? H($" (the recipe's own wall time: {Figure(wall)} s)") : "")}.</p>");
            html.AppendLine($"<pre>{H(Command(run.Run))}</pre>");
            if (!run.Passed && run.Run.LastErrorLines.Count > 0)
                html.AppendLine($"<p>The last lines of its errors:</p><pre>{H(string.Join("\n", run.Run.LastErrorLines))}</pre>");
            if (run.Metrics.Count > 0)
            {
                html.AppendLine("<table><tr><th>metric</th><th>value</th></tr>");
                foreach (var metric in run.Metrics) html.AppendLine($"<tr><td>{H(metric.Key)}</td><td class=\"num\">{H(Figure(metric.Value))}</td></tr>");
                html.AppendLine("</table>");
            }
            foreach (string chart in run.Charts)
                html.AppendLine($"<figure><a href=\"{H(chart)}\"><img src=\"{H(chart)}\" alt=\"{H(run.Run.Title)}: {H(IOPath.GetFileName(chart))}\"></a>" +
                    $"<figcaption>{H(IOPath.GetFileName(chart))}</figcaption></figure>");
            html.AppendLine("</section>");
        }
        html.AppendLine("</body></html>");
        return html.ToString();
    }

    // ---- Markdown ----

    /// <summary>Text for a Markdown table cell: on one line, pipes escaped, and &amp; &lt; &gt; as entities so no text
    /// becomes HTML (quotes stay readable).</summary>
    static string Cell(string text) => (text ?? "").Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;")
        .Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    /// <summary>A fenced block that no backtick run inside the text can close early.</summary>
    static string Fenced(string text)
    {
        int longest = Regex.Matches(text, "`+").Select(match => match.Length).DefaultIfEmpty(0).Max();
        string fence = new string('`', Math.Max(3, longest + 1));
        return $"{fence}\n{text}\n{fence}\n";
    }

    static string Markdown(IReadOnlyList<ReportedRun> runs, DateTime finishedUtc)
    {
        var md = new StringBuilder();
        md.AppendLine("# Recipes: quick smoke run of every recipe").AppendLine();
        md.AppendLine($"> **{Banner}**").AppendLine();
        md.AppendLine(Totals(runs, finishedUtc)).AppendLine();
        md.AppendLine("## Summary").AppendLine();
        md.AppendLine("| recipe | status | data | headline metrics (quick mode) | run time |");
        md.AppendLine("|---|---|---|---|---:|");
        foreach (var run in runs)
        {
            string headline = string.Join(", ", run.Headline().Select(metric => $"{metric.Key} **{Figure(metric.Value)}**"));
            md.AppendLine($"| [{Cell(run.Run.Title)}](#{run.Slug}) | {Cell(Status(run))} | {Cell(Data(run))} | {(headline.Length > 0 ? Cell(headline) : "-")} | {Duration(run.Run.Elapsed)} |");
        }
        md.AppendLine();
        md.AppendLine("## Reference figures (full training: not comparable to quick mode)").AppendLine();
        md.AppendLine(ReferenceNote).AppendLine();
        md.AppendLine("| recipe | measure | workshop (seed notebooks) | public reference |");
        md.AppendLine("|---|---|---|---|");
        foreach (var reference in RecipeReferences.All)
            md.AppendLine($"| {Cell(reference.Title)} | {Cell(reference.Measure)} | {Cell(reference.Workshop)} | {Cell(reference.Reference)} |");
        md.AppendLine();
        foreach (var run in runs)
        {
            // An explicit anchor: headings with parentheses get different automatic ids on different renderers.
            md.AppendLine($"<a id=\"{run.Slug}\"></a>").AppendLine();
            md.AppendLine($"## {Cell(run.Run.Title)}: {Cell(Status(run))}").AppendLine();
            md.AppendLine($"Data: {Cell(Data(run))}. Epochs: {run.Epochs?.ToString(CultureInfo.InvariantCulture) ?? "-"}; workers: " +
                $"{run.Workers?.ToString(CultureInfo.InvariantCulture) ?? "-"}. Run time {Duration(run.Run.Elapsed)}" +
                $"{(run.WallSeconds is double wall ? $" (the recipe's own wall time: {Figure(wall)} s)" : "")}.").AppendLine();
            md.Append(Fenced(Command(run.Run))).AppendLine();
            if (!run.Passed && run.Run.LastErrorLines.Count > 0)
                md.AppendLine("The last lines of its errors:").AppendLine().Append(Fenced(string.Join("\n", run.Run.LastErrorLines))).AppendLine();
            if (run.Metrics.Count > 0)
            {
                md.AppendLine("| metric | value |").AppendLine("|---|---:|");
                foreach (var metric in run.Metrics) md.AppendLine($"| {Cell(metric.Key)} | {Figure(metric.Value)} |");
                md.AppendLine();
            }
            foreach (string chart in run.Charts) md.AppendLine($"![{Cell(run.Run.Title)}: {IOPath.GetFileName(chart)}]({chart})").AppendLine();
        }
        return md.ToString();
    }
}
