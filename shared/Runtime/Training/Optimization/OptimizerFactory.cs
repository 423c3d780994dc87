using System.Globalization;
using TorchSharp.Modules;

namespace Recipes.Runtime.Training.Optimization;

/// <summary>Builds TorchSharp optimizers from <see cref="OptimizerSettings"/>, and reads or changes their learning rate.</summary>
public static class OptimizerFactory
{
    public static optim.Optimizer Create(OptimizerKind kind, IEnumerable<Parameter> parameters, OptimizerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(settings);
        List<Parameter> trained = parameters.ToList();
        if (trained.Count == 0)
            throw new ArgumentException("There are no parameters to optimize (is every layer frozen?).", nameof(parameters));
        Validate(kind, settings);

        return kind switch
        {
            OptimizerKind.Sgd => optim.SGD(trained, settings.LearningRate, settings.Momentum, settings.Dampening, settings.WeightDecay, settings.Nesterov),
            OptimizerKind.Adam => optim.Adam(trained, settings.LearningRate, settings.Beta1, settings.Beta2, settings.Epsilon, settings.WeightDecay),
            OptimizerKind.RmsProp => optim.RMSProp(trained, settings.LearningRate, settings.Alpha, settings.Epsilon, settings.WeightDecay),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer kind."),
        };
    }

    /// <summary>
    /// Sets the rate of every parameter group; call it before each step with the schedule's rate. Groups created with
    /// different rates keep their ratio to the first group (a pretrained backbone at a tenth of the new layers' rate
    /// stays at a tenth through warm-up and decay): the ratios are read on the first call, from the rates the
    /// optimizer was created with.
    /// </summary>
    public static void SetLearningRate(this optim.Optimizer optimizer, double rate)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        RateArguments.RequireNonNegativeFinite(rate, nameof(rate));
        var groups = optimizer.ParamGroups.Cast<optim.ILearningRateController>().ToList();
        double[] shares = GroupShares.GetValue(optimizer, _ =>
        {
            double first = groups.Count > 0 ? groups[0].LearningRate : 0;
            return groups.Select(group => first > 0 ? group.LearningRate / first : 1).ToArray();
        });
        for (int g = 0; g < groups.Count; g++)
            groups[g].LearningRate = rate * (g < shares.Length ? shares[g] : 1);
    }

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<optim.Optimizer, double[]> GroupShares = new();

    /// <summary>The rate of the first parameter group (the schedule's rate once <see cref="SetLearningRate"/> has run).</summary>
    public static double GetLearningRate(this optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        optim.ILearningRateController? first = optimizer.ParamGroups.FirstOrDefault();
        return first is null
            ? throw new InvalidOperationException("The optimizer has no parameter groups, so it has no learning rate.")
            : first.LearningRate;
    }

    static void Validate(OptimizerKind kind, OptimizerSettings settings)
    {
        RateArguments.RequireNonNegativeFinite(settings.LearningRate, nameof(settings.LearningRate));
        RateArguments.RequireNonNegativeFinite(settings.WeightDecay, nameof(settings.WeightDecay));
        switch (kind)
        {
            case OptimizerKind.Sgd:
                RateArguments.RequireNonNegativeFinite(settings.Momentum, nameof(settings.Momentum));
                RequireFraction(settings.Dampening, nameof(settings.Dampening), allowOne: true);
                if (settings.Nesterov && (settings.Momentum <= 0 || settings.Dampening != 0))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                        $"Nesterov momentum needs Momentum > 0 and Dampening = 0; got Momentum {settings.Momentum}, Dampening {settings.Dampening}."),
                        nameof(settings));
                break;
            case OptimizerKind.Adam:
                RequireFraction(settings.Beta1, nameof(settings.Beta1), allowOne: false);
                RequireFraction(settings.Beta2, nameof(settings.Beta2), allowOne: false);
                RequirePositive(settings.Epsilon, nameof(settings.Epsilon));
                break;
            case OptimizerKind.RmsProp:
                RequireFraction(settings.Alpha, nameof(settings.Alpha), allowOne: false);
                RequirePositive(settings.Epsilon, nameof(settings.Epsilon));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown optimizer kind.");
        }
    }

    static void RequireFraction(double value, string name, bool allowOne)
    {
        bool inRange = value >= 0 && (allowOne ? value <= 1 : value < 1);
        if (!inRange)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1{(allowOne ? "]" : ")")}.");
    }

    static void RequirePositive(double value, string name)
    {
        if (!double.IsFinite(value) || value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number > 0.");
    }
}
