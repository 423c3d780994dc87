using Recipes.Runtime.Data;
using Recipes.Runtime.Metrics;
using Recipes.Runtime.Models;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>What one image gave: the probability of each finding, the frame the network saw and its heatmaps.</summary>
public sealed record XrayPrediction(float[] Probabilities, RgbFrame Frame, ActivationMap[] Maps);

/// <summary>The <c>predict</c> and <c>evaluate</c> commands, and the evaluation pipeline they share with training.</summary>
public static class XrayCommands
{
    /// <summary>Evaluation pictures: grey, resized to 256, the centre 224 crop (no randomness).</summary>
    public static ImagePipeline EvaluationPictures(int seed) => new()
    {
        Seed = seed, Strict = true,
        Transform = new ImageChain([new Resize(256, 256), new Greyscale(), new CenterCrop(224, 224)]),
    };

    public static XrayPrediction PredictOne(ChestXrayNetwork network, string imagePath, ImagePipeline pictures, IReadOnlyList<string> findings)
    {
        var frame = pictures.Process(new ImageEntry(imagePath), 0, 0);
        using var scope = NewDisposeScope();
        using var input = frame.ToTensor().unsqueeze(0);
        var (probabilities, maps) = ClassActivationMaps.Compute(network, input, findings);
        return new XrayPrediction(probabilities[0], frame, maps[0]);
    }

    /// <summary><c>xray predict --model M IMAGE [--output DIR]</c>: the probability table, sorted, and the image with
    /// the heatmaps of its three most likely findings (<c>&lt;output&gt;/&lt;image&gt;-heatmaps.png</c>).</summary>
    public static int Predict(CommonOptions options, string? modelPath, string imagePath)
    {
        modelPath ??= Path.Combine(options.Output, "model.bin");
        if (!File.Exists(imagePath)) throw new DataFileException(imagePath, "no such image");
        var (network, description) = SavedModel<ChestXrayModelDescription>.Load(modelPath, ChestXrayArchitectures.CreateForSavedModel);
        using var _ = network;
        var prediction = PredictOne(network, imagePath, EvaluationPictures(options.Seed), description.Findings);
        XrayReports.PrintProbabilities(imagePath, prediction.Probabilities, description.Findings, truth: null, Console.Out);

        Directory.CreateDirectory(options.Output);
        string picture = Path.Combine(options.Output, Path.GetFileNameWithoutExtension(imagePath) + "-heatmaps.png");
        byte[] film = prediction.Frame.ToRgbBytes();
        var tiles = new List<ContactSheetTile> { new(film, prediction.Frame.Width, prediction.Frame.Height, "image", Path.GetFileName(imagePath)) };
        foreach (var map in prediction.Maps.OrderByDescending(m => m.Probability).Take(3))
            tiles.Add(new ContactSheetTile(ClassActivationMaps.Overlay(film, map), map.Width, map.Height, map.Finding, $"probability {map.Probability:P1}"));
        ContactSheet.WritePng(picture, [new ContactSheetSection($"{description.Architecture} ({description.Dataset}): where it looked", tiles)], columns: 4, scale: 1f);
        Console.WriteLine($"Wrote {picture}");
        return 0;
    }

    /// <summary><c>xray evaluate --model M --data DIR</c>: every labelled image under DIR (no split), AUC per finding,
    /// <c>metrics.json</c> with <c>test_mean_auc</c> and <c>test_auc_&lt;finding&gt;</c> in <c>&lt;output&gt;/evaluation</c>.</summary>
    public static int Evaluate(CommonOptions options, string? modelPath, bool skipMissing)
    {
        var wall = System.Diagnostics.Stopwatch.StartNew();
        if (options.Data is null) throw new ArgumentException("evaluate needs --data: a folder in the NIH layout (labels CSV, PNGs below it)");
        modelPath ??= Path.Combine(options.Output, "model.bin");
        var (network, description) = SavedModel<ChestXrayModelDescription>.Load(modelPath, ChestXrayArchitectures.CreateForSavedModel);
        using var _ = network;
        var data = ChestXrayDataSet.Load(options.Data, skipMissing);
        if (data.Images.Count == 0) throw new DataFileException(options.Data, "no labelled images to evaluate");
        Console.WriteLine($"Evaluating {modelPath} ({description.Architecture}, trained on {description.Dataset}) on {data.Images.Count:N0} images of {data.Folder}");

        var source = new ChestXrayBatchSource(data.Images, EvaluationPictures(options.Seed));
        int findings = description.Findings.Count;
        float[] scores = new float[data.Images.Count * findings];
        network.eval();
        const int batch = 32;
        int[] indices = new int[batch];
        for (int start = 0; start < data.Images.Count; start += batch)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            int count = Math.Min(batch, data.Images.Count - start);
            for (int i = 0; i < count; i++) indices[i] = start + i;
            var (input, _) = source.GetBatch(indices.AsSpan(0, count));
            network.forward(input).sigmoid().contiguous().data<float>().CopyTo(scores.AsSpan(start * findings, count * findings));
        }
        var auc = MultiLabelAuc.Compute(scores, XrayReports.LabelMatrix(data.Images), description.Findings);
        XrayReports.PrintAucTable(auc, Console.Out);

        // Beside the training run's own metrics.json, not over it.
        string folder = Path.Combine(options.Output, "evaluation");
        Directory.CreateDirectory(folder);
        // Scored on held-out images: test_ metrics (the convention of every metrics.json).
        var metrics = new Dictionary<string, double> { ["test_mean_auc"] = auc.Mean };
        for (int c = 0; c < findings; c++) metrics[$"test_auc_{MetricNames.Part(description.Findings[c])}"] = auc.PerClass[c];
        var report = new RunReport
        {
            Recipe = "xray", Dataset = $"NIH ChestX-ray14 ({Path.GetFileName(Path.TrimEndingDirectorySeparator(data.Folder))})", DataSource = DataSourceKind.Local,
            Epochs = 0, Workers = 1, WallSeconds = wall.Elapsed.TotalSeconds, Metrics = metrics,
            Details = new Dictionary<string, object?>
            {
                ["command"] = "evaluate", ["model"] = Path.GetFullPath(modelPath), ["images"] = data.Images.Count,
                ["skipped_missing"] = data.MissingSkipped, ["undefined_auc"] = auc.UndefinedClasses, ["seconds"] = Math.Round(wall.Elapsed.TotalSeconds, 1),
            },
        };
        Console.WriteLine($"Mean AUC {auc.Mean:F3} over {auc.DefinedClasses} findings; wrote {report.Write(folder)}");
        return 0;
    }
}
