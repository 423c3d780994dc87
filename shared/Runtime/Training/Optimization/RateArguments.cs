namespace Recipes.Runtime.Training.Optimization;

/// <summary>Argument checks shared by the schedules and the optimizer factory, with messages naming the argument.</summary>
static class RateArguments
{
    public static void RequireNonNegativeFinite(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number >= 0.");
    }

    public static void RequireFinite(double value, string name)
    {
        if (!double.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number.");
    }

    public static void RequirePositive(int value, string name)
    {
        if (value <= 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be > 0.");
    }

    public static void RequireNonNegative(int value, string name)
    {
        if (value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be >= 0.");
    }

    public static void RequireStep(int iteration, int epoch)
    {
        RequireNonNegative(iteration, nameof(iteration));
        RequireNonNegative(epoch, nameof(epoch));
    }
}
