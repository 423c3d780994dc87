using Recipes.Runtime.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Tests.Training.Optimization;

public class L2RegularizationTests
{
    [Fact]
    public void Adds_l2_times_the_weights_to_the_gradient_in_place()
    {
        using var weights = new Parameter(tensor(new[] { 1.0, -2.0 }, dtype: float64));
        using (var scope = NewDisposeScope())
            (weights * tensor(new[] { 3.0, 0.5 }, dtype: float64)).sum().backward();

        L2Regularization.AddToGradients([weights], 0.1);

        // grad = [3, 0.5] + 0.1 * [1, -2]
        using var gradient = weights.grad!;
        double[] values = gradient.data<double>().ToArray();
        Assert.Equal(3.1, values[0], 1e-12);
        Assert.Equal(0.3, values[1], 1e-12);
        Assert.False(gradient.requires_grad);
    }

    [Fact]
    public void Only_the_chosen_parameters_are_regularised_and_ones_without_gradients_are_skipped()
    {
        using var head = new Parameter(tensor(new[] { 2.0 }, dtype: float64));
        using var body = new Parameter(tensor(new[] { 4.0 }, dtype: float64));
        using var unused = new Parameter(tensor(new[] { 8.0 }, dtype: float64));
        using (var scope = NewDisposeScope())
            (head * 5.0 + body * 7.0).sum().backward();

        L2Regularization.AddToGradients([head, unused], 0.5);

        Assert.Equal(5.0 + 0.5 * 2.0, head.grad!.item<double>(), 1e-12);
        Assert.Equal(7.0, body.grad!.item<double>(), 1e-12);
        Assert.Null(unused.grad);
    }

    [Fact]
    public void A_negative_coefficient_is_refused()
    {
        using var weights = new Parameter(tensor(new[] { 1.0 }));
        Assert.Equal("l2", Assert.Throws<ArgumentOutOfRangeException>(() => L2Regularization.AddToGradients([weights], -0.1)).ParamName);
    }
}
