namespace MyRecipe;

/// <summary>
/// Points in the plane, each labelled with the arm of a spiral it lies on: <see cref="ClassCount"/> arms wound
/// around the origin, so no straight line separates them and a network needs its hidden layers to learn the task.
/// Stands in for your data set: replace <see cref="Generate"/> with a reader of your files.
/// </summary>
public sealed record Spirals(float[] Points, long[] Labels)
{
    public const int ClassCount = 3;
    public const int Features = 2;

    public int Count => Labels.Length;

    /// <summary><paramref name="count"/> points spread evenly over the arms, the same for the same seed.</summary>
    public static Spirals Generate(int count, int seed, double noise = 0.04)
    {
        if (count < ClassCount) throw new ArgumentOutOfRangeException(nameof(count), count, $"at least {ClassCount} points (one per class)");
        var random = new Random(seed);
        var points = new float[count * Features];
        var labels = new long[count];
        for (int i = 0; i < count; i++)
        {
            int arm = i % ClassCount;
            double along = random.NextDouble();                                   // 0 at the centre, 1 at the arm's end
            double angle = 2 * Math.PI * arm / ClassCount + 3.5 * along;          // each arm turns about half a circle
            points[i * Features] = (float)(along * Math.Cos(angle) + noise * Gaussian(random));
            points[i * Features + 1] = (float)(along * Math.Sin(angle) + noise * Gaussian(random));
            labels[i] = arm;
        }
        return new Spirals(points, labels);
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
