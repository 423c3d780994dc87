using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Serving;

/// <summary>
/// Serves an image classifier: <c>/predict</c> turns the uploaded image into one input row with the recipe's
/// <paramref name="preprocess"/> (resize and normalise as at training) and answers the top classes
/// (<c>?top=K</c>, 5 by default) with their probabilities. The model's first input must be FP32 with a batch
/// dimension, its output <paramref name="outputName"/> one score per class: probabilities, or logits when
/// <paramref name="outputIsLogits"/> (a softmax is then applied here).
/// </summary>
public sealed class ImageClassifierServing(
    string name,
    IInferenceModel model,
    IReadOnlyList<string> labels,
    Func<Image<Rgb24>, float[]> preprocess,
    string outputName,
    bool outputIsLogits = false) : ServedModel(name, model, ResultKind.Classes)
{
    const int DefaultTop = 5;

    readonly TensorSpec _input = CheckInput(model.Signature);

    public IReadOnlyList<string> Labels { get; } = labels.Count > 0 ? labels : throw new ArgumentException("a classifier needs its class names");

    public override IReadOnlyList<NamedTensor> ToModelInputs(PredictRequest request)
    {
        float[] row = preprocess(request.RequireImage());
        long[] shape = [1, .. _input.Shape.Skip(1)];
        long expected = shape.Aggregate(1L, (product, size) => product * size);
        // A recipe bug, not the client's: say so rather than let the model fail on a shape.
        if (row.LongLength != expected)
            throw new InvalidOperationException($"the preprocessing gave {row.Length} values; input '{_input.Name}' of shape [{string.Join(", ", shape)}] takes {expected}");
        return [new NamedTensor(_input.Name, shape, Floats: row)];
    }

    public override object ToAnswer(PredictRequest request, IReadOnlyList<NamedTensor> outputs)
    {
        int top = request.IntParameter("top", Math.Min(DefaultTop, Labels.Count), 1, Labels.Count);
        var scores = Output(outputs, outputName).Floats ?? throw new InvalidOperationException($"output '{outputName}' is not FP32");
        if (scores.Length < Labels.Count) throw new InvalidOperationException($"output '{outputName}' has {scores.Length} scores for {Labels.Count} classes");
        double[] probabilities = outputIsLogits ? Softmax(scores.AsSpan(0, Labels.Count)) : [.. scores.Take(Labels.Count).Select(s => (double)s)];
        return new ClassificationAnswer(Name, TopClasses(probabilities, Labels, top));
    }

    public override object? PageSettings => new { labels = Labels };

    /// <summary>The <paramref name="count"/> most probable classes, most probable first (ties: lower index first).</summary>
    public static IReadOnlyList<ClassScore> TopClasses(IReadOnlyList<double> probabilities, IReadOnlyList<string> labels, int count) =>
        [.. probabilities.Select((p, index) => new ClassScore(labels[index], index, p))
            .OrderByDescending(score => score.Probability).ThenBy(score => score.Index).Take(count)];

    /// <summary>A numerically stable softmax (the largest logit is subtracted first).</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity;
        foreach (float logit in logits) max = Math.Max(max, logit);
        var result = new double[logits.Length];
        double sum = 0;
        for (int i = 0; i < logits.Length; i++) sum += result[i] = Math.Exp(logits[i] - max);
        for (int i = 0; i < result.Length; i++) result[i] /= sum;
        return result;
    }

    static TensorSpec CheckInput(ModelSignature signature)
    {
        if (signature.Inputs.Count == 0) throw new ArgumentException($"model '{signature.Name}' declares no input");
        var input = signature.Inputs[0];
        if (input.Datatype != TensorDatatype.FP32 || input.Shape.Length < 2 || input.Shape.Skip(1).Any(size => size < 1))
            throw new ArgumentException($"an image classifier's input is FP32 [-1, C, H, W]; '{input.Name}' is {input.Datatype} [{string.Join(", ", input.Shape)}]");
        return input;
    }
}
