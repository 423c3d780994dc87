using Recipes.Runtime.Metrics;

namespace Recipes.Xray;

/// <summary>The recipe's console tables: prevalence, AUC per finding, one image's probabilities.</summary>
public static class XrayReports
{
    /// <summary>The labels of <paramref name="images"/> row-major [images, findings].</summary>
    public static float[] LabelMatrix(IReadOnlyList<ChestXrayImage> images)
    {
        if (images.Count == 0) return [];
        int findings = images[0].Labels.Length;
        float[] labels = new float[images.Count * findings];
        for (int i = 0; i < images.Count; i++) images[i].Labels.CopyTo(labels, i * findings);
        return labels;
    }

    public static void PrintPrevalence(IReadOnlyList<ChestXrayImage> train, IReadOnlyList<ChestXrayImage> test, IReadOnlyList<string> findings, TextWriter log)
    {
        string Count(IReadOnlyList<ChestXrayImage> images, int c) => images.Count(image => image.Labels[c] > 0).ToString(System.Globalization.CultureInfo.InvariantCulture);
        log.WriteLine("Positives per finding (train / test): " + string.Join(", ", findings.Select((name, c) => $"{name} {Count(train, c)}/{Count(test, c)}")) +
                      $"; no finding {train.Count(i => i.Labels.All(l => l == 0))}/{test.Count(i => i.Labels.All(l => l == 0))}");
    }

    public static void PrintAucTable(MultiLabelAuc auc, TextWriter log)
    {
        log.WriteLine($"{"finding",-20} {"AUC",6}");
        for (int c = 0; c < auc.Names.Count; c++)
            log.WriteLine($"{auc.Names[c],-20} {(double.IsNaN(auc.PerClass[c]) ? "  n/a (one outcome only)" : auc.PerClass[c].ToString("F3", System.Globalization.CultureInfo.InvariantCulture)),6}");
        log.WriteLine($"{"mean",-20} {auc.Mean,6:F3}  ({auc.DefinedClasses} findings with both outcomes)");
    }

    /// <summary>The probabilities of one image, most likely first, with the true labels when known.</summary>
    public static void PrintProbabilities(string image, float[] probabilities, IReadOnlyList<string> findings, string? truth, TextWriter log)
    {
        log.WriteLine($"{Path.GetFileName(image)}{(truth is null ? "" : $" (labelled: {truth})")}:");
        foreach (int c in Enumerable.Range(0, findings.Count).OrderByDescending(c => probabilities[c]))
        {
            int bar = (int)MathF.Round(probabilities[c] * 30);
            log.WriteLine($"  {findings[c],-20} {probabilities[c],7:P1}  {new string('#', bar)}");
        }
    }
}
