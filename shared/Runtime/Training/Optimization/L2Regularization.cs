using TorchSharp.Modules;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>
/// BigDL's L2Regularizer: adds <c>l2 * w</c> to the gradient of chosen parameters after the backward pass
/// and before the optimizer step (the gradient of <c>l2/2 * |w|^2</c>). Unlike the optimizer's weight decay
/// it can be limited to some layers, for example only a new head's weights when fine-tuning.
/// </summary>
public static class L2Regularization
{
    /// <summary>Adds <paramref name="l2"/> times each parameter to its gradient in place; parameters without a gradient are left alone.</summary>
    public static void AddToGradients(IEnumerable<Parameter> parameters, double l2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        RateArguments.RequireNonNegativeFinite(l2, nameof(l2));
        if (l2 == 0)
            return;

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        foreach (Parameter parameter in parameters)
        {
            // A parameter that took no part in the loss (or is frozen) has no gradient to regularise.
            Tensor? gradient = parameter.grad;
            if (gradient is null)
                continue;
            gradient.add_(parameter, alpha: l2);
        }
    }
}
