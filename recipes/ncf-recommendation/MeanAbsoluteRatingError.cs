using Recipes.Runtime.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// MAE in stars of an explicit-rating model during training: the output is one logit per rating class, the
/// target the true class; the prediction is the most likely class (Analytics Zoo's NeuralCF convention).
/// </summary>
public sealed class MeanAbsoluteRatingError(RatingScale scale) : IValidationMethod
{
    public string Name => "mae";
    public bool HigherIsBetter => false;

    public (double Sum, long Count) Measure(Tensor output, Tensor target)
    {
        using var scope = NewDisposeScope();
        var classError = output.argmax(1).sub(target).abs().to(ScalarType.Float64);
        return (classError.sum().ToDouble() * scale.Step, target.shape[0]);
    }
}
