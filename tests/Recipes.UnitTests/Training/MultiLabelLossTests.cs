using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.Tests.Training;

public class MultiLabelLossTests
{
    static double Softplus(double x) => Math.Log(1 + Math.Exp(x)); // -ln(1 - s(x)) = softplus(x), -ln s(x) = softplus(-x)

    [Fact]
    public void A_logit_of_zero_costs_ln_2_whatever_the_target()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits();
        using var scope = NewDisposeScope();
        Assert.Equal(Math.Log(2), loss(zeros(1, 1), ones(1, 1)).item<float>(), 1e-6);
        Assert.Equal(Math.Log(2), loss(zeros(1, 1), zeros(1, 1)).item<float>(), 1e-6);
    }

    [Fact]
    public void Known_answer_is_the_mean_over_samples_and_classes()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits();
        using var scope = NewDisposeScope();
        using var logits = tensor(new float[] { 2, -1, 0.5f, 3 }, [2, 2]);
        using var target = tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
        double expected = (Softplus(-2) + Softplus(-1) + Softplus(0.5) + Softplus(-3)) / 4;
        Assert.Equal(expected, loss(logits, target).item<float>(), 1e-6);
    }

    [Fact]
    public void Positive_weights_scale_only_the_positive_term_of_their_class()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits([3f, 0.5f]);
        using var scope = NewDisposeScope();
        using var logits = tensor(new float[] { 0, 1, -2, 0 }, [2, 2]);
        using var target = tensor(new float[] { 1, 1, 0, 1 }, [2, 2]);
        // (class 0, positive) 3 ln 2; (class 1, positive) 0.5 softplus(-1); (class 0, negative) unweighted; (class 1, positive) 0.5 ln 2.
        double expected = (3 * Math.Log(2) + 0.5 * Softplus(-1) + Softplus(-2) + 0.5 * Math.Log(2)) / 4;
        Assert.Equal(expected, loss(logits, target).item<float>(), 1e-6);
    }

    [Fact]
    public void Large_logits_give_finite_losses_and_gradients()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits([2f, 2f]);
        using var scope = NewDisposeScope();
        using var logits = tensor(new float[] { 1e4f, -1e4f, -1e4f, 1e4f }, [2, 2]).requires_grad_();
        using var target = tensor(new float[] { 1, 0, 1, 0 }, [2, 2]);
        var value = loss(logits, target);
        // Right with certainty costs 0; wrong with certainty costs |logit| (times the weight for a missed positive).
        Assert.Equal((0 + 0 + 2 * 1e4 + 1e4) / 4, value.item<float>(), 1e-2);
        value.backward();
        // d/dx = (w t (s - 1) + (1 - t) s) / N: 0 where right, -w/N for the missed positive, 1/N for the false alarm.
        float[] gradient = logits.grad!.data<float>().ToArray();
        Assert.All(gradient, g => Assert.True(float.IsFinite(g)));
        Assert.Equal([0f, 0f, -0.5f, 0.25f], gradient);
    }

    [Fact]
    public void The_gradient_is_sigmoid_minus_target_over_the_element_count()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits();
        using var scope = NewDisposeScope();
        float[] x = [0.3f, -1.2f, 2.0f, -0.4f, 0f, 1.5f];
        float[] t = [1, 0, 1, 1, 0, 0];
        using var logits = tensor(x, [2, 3]).requires_grad_();
        loss(logits, tensor(t, [2, 3])).backward();
        float[] gradient = logits.grad!.data<float>().ToArray();
        for (int i = 0; i < x.Length; i++)
            Assert.Equal((1 / (1 + Math.Exp(-x[i])) - t[i]) / x.Length, gradient[i], 1e-6);
    }

    [Fact]
    public void A_double_target_is_matched_to_float_logits()
    {
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits();
        using var scope = NewDisposeScope();
        Assert.Equal(Math.Log(2), loss(zeros(2, 3), ones(2, 3, dtype: float64)).item<float>(), 1e-6);
    }

    [Fact]
    public void Shapes_and_weights_that_do_not_fit_are_refused()
    {
        using var scope = NewDisposeScope();
        var plain = MultiLabelLoss.BinaryCrossEntropyWithLogits();
        Assert.Contains("[2, 3] and [2, 2]", Assert.Throws<ArgumentException>(() => plain(zeros(2, 3), zeros(2, 2))).Message);
        Assert.Throws<ArgumentException>(() => plain(zeros(6), zeros(6)));
        var weighted = MultiLabelLoss.BinaryCrossEntropyWithLogits([1f, 2f]);
        Assert.Contains("3 classes but 2 positive weights", Assert.Throws<ArgumentException>(() => weighted(zeros(2, 3), zeros(2, 3))).Message);
        Assert.Throws<ArgumentException>(() => MultiLabelLoss.BinaryCrossEntropyWithLogits([1f, -2f]));
        Assert.Throws<ArgumentException>(() => MultiLabelLoss.BinaryCrossEntropyWithLogits([float.NaN]));
        Assert.Throws<ArgumentException>(() => MultiLabelLoss.BinaryCrossEntropyWithLogits([]));
    }

    [Fact]
    public void Positive_weights_are_negatives_over_positives_and_one_where_a_class_lacks_an_outcome()
    {
        float[] labels =
        [
            1, 0, 1, 0.7f,
            0, 0, 1, 0.2f,
            0, 0, 1, 0,
            0, 0, 1, 0,
        ];
        // One positive in four: 3. None: 1. All positive: 1 (0 would silence the class). 0.7 counts as positive: 3.
        Assert.Equal([3f, 1f, 1f, 3f], MultiLabelLoss.PositiveWeights(labels, classes: 4));
        Assert.Equal([1f, 1f], MultiLabelLoss.PositiveWeights([1, 0, 0, 1], classes: 2));
    }

    [Fact]
    public void Positive_weights_refuse_labels_that_do_not_fit()
    {
        Assert.Throws<ArgumentException>(() => MultiLabelLoss.PositiveWeights([1, 0, 1], classes: 2));
        Assert.Contains("sample 1, class 0", Assert.Throws<ArgumentException>(() => MultiLabelLoss.PositiveWeights([1, 0, float.NaN, 1], classes: 2)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => MultiLabelLoss.PositiveWeights([1, 0], classes: 0));
    }

    [Fact]
    public void Weighting_by_the_ratio_balances_the_total_gradient_of_positives_and_negatives()
    {
        // At logit 0 every element's gradient is w t (-1/2) + (1 - t)(1/2): with w = negatives/positives the
        // positives of a class pull exactly as hard in total as its negatives push.
        float[] labels = [1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0];
        var weights = MultiLabelLoss.PositiveWeights(labels, classes: 1);
        Assert.Equal([3f], weights);
        var loss = MultiLabelLoss.BinaryCrossEntropyWithLogits(weights);
        using var scope = NewDisposeScope();
        using var logits = zeros(12, 1).requires_grad_();
        loss(logits, tensor(labels, [12, 1])).backward();
        Assert.Equal(0.0, logits.grad!.sum().item<float>(), 1e-6);
    }
}
