using Recipes.Runtime.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Recipes.Tests.Training.Optimization;

public class OptimizerFactoryTests
{
    const double Tolerance = 1e-12;

    // Loss = sum(Coefficients * w): its gradient is Coefficients whatever w is, so updates are easy to work out by hand.
    static readonly double[] Coefficients = [3.0, 0.5];
    static readonly double[] Start = [1.0, -2.0];

    static Parameter NewParameter(double[] values) => new(tensor(values, dtype: float64));

    static double[] Values(Tensor tensor) => tensor.detach().data<double>().ToArray();

    static void LinearLossStep(optim.Optimizer optimizer, Parameter weights)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        using var coefficients = tensor(Coefficients, dtype: float64);
        (weights * coefficients).sum().backward();
        optimizer.step();
    }

    // Loss = sum(Coefficients * w^2): the gradient 2 * Coefficients * w depends on w, so optimizer state matters.
    static void QuadraticLossStep(optim.Optimizer optimizer, Parameter weights)
    {
        using var scope = NewDisposeScope();
        optimizer.zero_grad();
        var coefficients = tensor(Coefficients, dtype: float64);
        (weights * weights * coefficients).sum().backward();
        optimizer.step();
    }

    static void AssertClose(double[] expected, double[] actual, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int index = 0; index < expected.Length; index++)
            Assert.True(Math.Abs(expected[index] - actual[index]) <= tolerance, $"element {index}: expected {expected[index]}, got {actual[index]}");
    }

    [Fact]
    public void Sgd_with_momentum_matches_the_hand_computed_updates()
    {
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1) { Momentum = 0.9 });

        // Step 1: buffer = g; w -= 0.1 * g = [1 - 0.3, -2 - 0.05]
        LinearLossStep(optimizer, weights);
        AssertClose([0.7, -2.05], Values(weights));
        // Step 2: buffer = 0.9 * g + g = 1.9 g; w -= 0.1 * 1.9 g = [0.7 - 0.57, -2.05 - 0.095]
        LinearLossStep(optimizer, weights);
        AssertClose([0.13, -2.145], Values(weights));
    }

    [Fact]
    public void Sgd_with_nesterov_looks_ahead_along_the_momentum()
    {
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1) { Momentum = 0.9, Nesterov = true });

        // Step 1: buffer = g; update = g + 0.9 * buffer = 1.9 g; w -= 0.19 g = [1 - 0.57, -2 - 0.095]
        LinearLossStep(optimizer, weights);
        AssertClose([0.43, -2.095], Values(weights));
        // Step 2: buffer = 1.9 g; update = g + 0.9 * 1.9 g = 2.71 g; w -= 0.271 g = [0.43 - 0.813, -2.095 - 0.1355]
        LinearLossStep(optimizer, weights);
        AssertClose([-0.383, -2.2305], Values(weights));
    }

    [Fact]
    public void Weight_decay_adds_the_l2_gradient_before_the_step()
    {
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1) { WeightDecay = 0.5 });

        // grad = g + 0.5 w = [3 + 0.5, 0.5 - 1]; w -= 0.1 * grad = [1 - 0.35, -2 + 0.05]
        LinearLossStep(optimizer, weights);
        AssertClose([0.65, -1.95], Values(weights));
    }

    [Fact]
    public void Adam_first_step_is_the_rate_times_the_bias_corrected_ratio()
    {
        using var weights = NewParameter(Start);
        // A large epsilon makes its place in the denominator visible.
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, [weights], new OptimizerSettings(0.01) { Epsilon = 0.5 });

        // m = 0.1 g, v = 0.001 g^2; bias-corrected m^ = g, sqrt(v^) = |g|;
        // w -= 0.01 * g / (|g| + 0.5) = [1 - 0.01 * 3 / 3.5, -2 - 0.01 * 0.5 / 1.0]
        LinearLossStep(optimizer, weights);
        AssertClose([0.9914285714285714, -2.005], Values(weights));
        // With a constant gradient the corrected moments stay g and g^2, so the second step is the same size.
        LinearLossStep(optimizer, weights);
        AssertClose([0.9828571428571429, -2.01], Values(weights));
    }

    [Fact]
    public void RmsProp_first_step_divides_by_the_root_of_the_running_square()
    {
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.RmsProp, [weights], new OptimizerSettings(0.01) { Alpha = 0.9, Epsilon = 0.5 });

        // v = (1 - 0.9) g^2 = [0.9, 0.025]; w -= 0.01 * g / (sqrt(v) + 0.5)
        //   = [1 - 0.03 / (0.9486832980505138 + 0.5), -2 - 0.005 / (0.15811388300841897 + 0.5)]
        LinearLossStep(optimizer, weights);
        AssertClose([0.9792915400899763, -2.0075974692664795], Values(weights));
    }

    [Fact]
    public void RmsProp_defaults_to_BigDLs_decay_of_0_99()
    {
        var settings = new OptimizerSettings(0.01);
        Assert.Equal(0.99, settings.Alpha);
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.RmsProp, [weights], settings with { Epsilon = 1e-12 });

        // v = 0.01 g^2, sqrt(v) = 0.1 |g|: each weight moves by 0.01 / 0.1 = 0.1 against its gradient's sign.
        LinearLossStep(optimizer, weights);
        AssertClose([0.9, -2.1], Values(weights), 1e-9);
    }

    [Fact]
    public void Setting_the_learning_rate_changes_the_next_step_size()
    {
        using var weights = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1));
        Assert.Equal(0.1, optimizer.GetLearningRate());

        LinearLossStep(optimizer, weights);
        AssertClose([0.7, -2.05], Values(weights));

        OptimizerFactory.SetLearningRate(optimizer, 0.01);
        Assert.Equal(0.01, OptimizerFactory.GetLearningRate(optimizer));
        Assert.All(optimizer.ParamGroups, group => Assert.Equal(0.01, group.LearningRate));
        LinearLossStep(optimizer, weights);
        AssertClose([0.67, -2.055], Values(weights));
    }

    [Fact]
    public void Setting_the_rate_reaches_every_parameter_group_and_keeps_their_ratio_to_the_first()
    {
        using var first = NewParameter(Start);
        using var second = NewParameter(Start);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Adam, [first], new OptimizerSettings(0.1));
        optimizer.add_param_group(new Adam.ParamGroup([second], lr: 0.5));

        // Created at 0.1 and 0.5: the second group keeps five times the first's rate through every change.
        optimizer.SetLearningRate(0.002);
        Assert.Equal([0.002, 0.01], optimizer.ParamGroups.Select(group => group.LearningRate), new ToleranceComparer(1e-12));
        optimizer.SetLearningRate(0.2);
        Assert.Equal([0.2, 1.0], optimizer.ParamGroups.Select(group => group.LearningRate), new ToleranceComparer(1e-12));
        Assert.Equal(0.2, optimizer.GetLearningRate());
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd)]
    [InlineData(OptimizerKind.Adam)]
    [InlineData(OptimizerKind.RmsProp)]
    public void State_saved_after_one_step_and_loaded_continues_like_the_uninterrupted_optimizer(OptimizerKind kind)
    {
        var settings = new OptimizerSettings(0.05) { Momentum = 0.9, WeightDecay = 0.01 };

        using var uninterruptedWeights = NewParameter(Start);
        using var uninterrupted = OptimizerFactory.Create(kind, [uninterruptedWeights], settings);
        for (int step = 0; step < 3; step++)
            QuadraticLossStep(uninterrupted, uninterruptedWeights);

        using var resumedWeights = NewParameter(Start);
        byte[] saved;
        using (var beforeSave = OptimizerFactory.Create(kind, [resumedWeights], settings))
        {
            QuadraticLossStep(beforeSave, resumedWeights);
            using var buffer = new MemoryStream();
            using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
                ((OptimizerHelper)beforeSave).save_state_dict(writer);
            saved = buffer.ToArray();
        }

        // Control: a fresh optimizer without the saved state ends elsewhere, so the comparison below means something.
        using var forgetfulWeights = NewParameter(Start);
        using (var forgetful = OptimizerFactory.Create(kind, [forgetfulWeights], settings))
        {
            QuadraticLossStep(forgetful, forgetfulWeights);
            using var restarted = OptimizerFactory.Create(kind, [forgetfulWeights], settings);
            QuadraticLossStep(restarted, forgetfulWeights);
            QuadraticLossStep(restarted, forgetfulWeights);
        }
        Assert.NotEqual(Values(uninterruptedWeights), Values(forgetfulWeights));

        using var afterLoad = OptimizerFactory.Create(kind, [resumedWeights], settings);
        using (var reader = new BinaryReader(new MemoryStream(saved)))
            ((OptimizerHelper)afterLoad).load_state_dict(reader);
        QuadraticLossStep(afterLoad, resumedWeights);
        QuadraticLossStep(afterLoad, resumedWeights);

        Assert.Equal(Values(uninterruptedWeights), Values(resumedWeights));
    }

    [Fact]
    public void Bad_settings_are_refused_before_TorchSharp_sees_them()
    {
        using var weights = NewParameter(Start);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(
            () => OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(-0.1))).ParamName);
        Assert.Contains("Nesterov", Assert.Throws<ArgumentException>(
            () => OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1) { Nesterov = true })).Message);
        Assert.Equal("Beta2", Assert.Throws<ArgumentOutOfRangeException>(
            () => OptimizerFactory.Create(OptimizerKind.Adam, [weights], new OptimizerSettings(0.1) { Beta2 = 1.0 })).ParamName);
        Assert.Equal("Epsilon", Assert.Throws<ArgumentOutOfRangeException>(
            () => OptimizerFactory.Create(OptimizerKind.RmsProp, [weights], new OptimizerSettings(0.1) { Epsilon = 0 })).ParamName);
        Assert.Contains("no parameters", Assert.Throws<ArgumentException>(
            () => OptimizerFactory.Create(OptimizerKind.Adam, [], new OptimizerSettings(0.1))).Message);
        using var optimizer = OptimizerFactory.Create(OptimizerKind.Sgd, [weights], new OptimizerSettings(0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => optimizer.SetLearningRate(double.NaN));
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(double value) => 0;
    }
}
