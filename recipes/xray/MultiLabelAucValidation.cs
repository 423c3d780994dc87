using Recipes.Runtime.Metrics;
using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Xray;

/// <summary>
/// Per-class AUC-ROC of a multi-label classifier as a validation method of the trainer: the outputs are logits
/// [N, classes] (a sigmoid gives each class's probability; AUC only ranks, so the logits would rank the same),
/// the targets 0/1 [N, classes]. Reports <see cref="MeanName"/> (the mean over the classes that have both
/// outcomes in the set) and <c>auc_&lt;class&gt;</c> for each class (NaN when undefined). The last set scored is
/// kept for ROC curves.
/// </summary>
public sealed class MultiLabelAucValidation(IReadOnlyList<string> classNames) : ISetValidationMethod
{
    public const string MeanName = "mean_auc";

    public static string ClassMetricName(string className) => $"auc_{className}";

    public int ValuesPerSample => 2 * classNames.Count;
    public bool HigherIsBetter => true;

    /// <summary>The AUCs of the set scored last.</summary>
    public MultiLabelAuc? Last { get; private set; }

    float[] _lastScores = [];
    float[] _lastLabels = [];

    public void Record(Tensor output, Tensor target, Span<double> rows)
    {
        using var scope = NewDisposeScope();
        int classes = classNames.Count;
        float[] probabilities = output.detach().sigmoid().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        float[] labels = target.to(ScalarType.Float32).contiguous().data<float>().ToArray();
        int samples = probabilities.Length / classes;
        for (int i = 0; i < samples; i++)
            for (int c = 0; c < classes; c++)
            {
                rows[i * 2 * classes + c] = probabilities[i * classes + c];
                rows[i * 2 * classes + classes + c] = labels[i * classes + c];
            }
    }

    public IReadOnlyDictionary<string, double> Score(ReadOnlySpan<double> rows, int sampleCount)
    {
        int classes = classNames.Count;
        _lastScores = new float[sampleCount * classes];
        _lastLabels = new float[sampleCount * classes];
        for (int i = 0; i < sampleCount; i++)
            for (int c = 0; c < classes; c++)
            {
                _lastScores[i * classes + c] = (float)rows[i * 2 * classes + c];
                _lastLabels[i * classes + c] = (float)rows[i * 2 * classes + classes + c];
            }
        Last = MultiLabelAuc.Compute(_lastScores, _lastLabels, classNames);
        var scores = new Dictionary<string, double> { [MeanName] = Last.Mean };
        for (int c = 0; c < classes; c++) scores[ClassMetricName(classNames[c])] = Last.PerClass[c];
        return scores;
    }

    /// <summary>The ROC curve of each class over the set scored last (null for a class with one outcome only).</summary>
    public IReadOnlyList<RocCurve?> LastCurves()
    {
        int classes = classNames.Count, samples = _lastScores.Length / Math.Max(1, classes);
        var curves = new List<RocCurve?>();
        for (int c = 0; c < classes; c++)
        {
            float[] scores = new float[samples];
            bool[] positives = new bool[samples];
            for (int i = 0; i < samples; i++)
            {
                scores[i] = _lastScores[i * classes + c];
                positives[i] = _lastLabels[i * classes + c] >= 0.5f;
            }
            curves.Add(AucRoc.Curve(scores, positives));
        }
        return curves;
    }

    /// <summary>Each class's AUC from a validation dictionary (NaN where missing).</summary>
    public static double[] PerClass(IReadOnlyDictionary<string, double> scores, IReadOnlyList<string> classNames) =>
        classNames.Select(name => scores.TryGetValue(ClassMetricName(name), out double value) ? value : double.NaN).ToArray();
}
