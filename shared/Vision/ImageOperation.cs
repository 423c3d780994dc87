using System.Globalization;

namespace Recipes.Runtime.Vision;

/// <summary>
/// One step of an image pipeline (the seed's ImageProcessing): takes a frame, returns a new one. Random ops
/// draw every random choice from the <see cref="Random"/> they are given, so the same seed gives the same
/// output; pipelines that run in parallel give each image its own generator seeded from (seed, image), which
/// keeps results independent of thread timing. Compose with <see cref="Then"/> and
/// <see cref="WithProbability"/>. An op must not keep a reference to its input: inside a pipeline the
/// buffers of intermediate frames are recycled once the next op has run.
/// </summary>
public abstract class ImageOperation
{
    /// <summary>The op and its parameters in the seed's terms, for example "Brightness(0, 32)".</summary>
    public abstract string Name { get; }

    public abstract RgbFrame Apply(RgbFrame image, Random random);

    /// <summary>Applies the op with a generator seeded by <paramref name="seed"/>.</summary>
    public RgbFrame Apply(RgbFrame image, int seed) => Apply(image, new Random(seed));

    /// <summary>This op, then <paramref name="next"/>.</summary>
    public ImageChain Then(ImageOperation next) => new([this, next]);

    /// <summary>This op applied to a fraction <paramref name="probability"/> of the images, the rest passing unchanged.</summary>
    public RandomApplication WithProbability(double probability) => new(this, probability);

    public override string ToString() => Name;

    /// <summary>The identity: the frame passes unchanged (a pipeline without transforms).</summary>
    public static ImageOperation None { get; } = new ImageChain([]);

    /// <summary>A uniform draw from [low, high).</summary>
    protected static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();

    internal static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    internal static string Signed(double value) => (value >= 0 ? "+" : "") + value.ToString("0.#", CultureInfo.InvariantCulture);
}

/// <summary>Ops applied one after another (the seed's <c>a -> b -> c</c>).</summary>
public sealed class ImageChain : ImageOperation
{
    public ImageChain(IEnumerable<ImageOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        // Nested chains flatten so that a.Then(b).Then(c) lists three ops, not a chain inside a chain.
        Operations = operations.SelectMany(op => op switch
        {
            null => throw new ArgumentException("a chain cannot contain a null op", nameof(operations)),
            ImageChain chain => chain.Operations,
            _ => [op],
        }).ToArray();
    }

    public IReadOnlyList<ImageOperation> Operations { get; }

    public override string Name => Operations.Count == 0 ? "None" : string.Join(" -> ", Operations.Select(op => op.Name));

    public override RgbFrame Apply(RgbFrame image, Random random)
    {
        foreach (var operation in Operations) image = operation.Apply(image, random);
        return image;
    }

    public new ImageChain Then(ImageOperation next) => new([.. Operations, next]);
}

/// <summary>Applies an op with a probability (the seed's RandomTransformer / random application).</summary>
public sealed class RandomApplication : ImageOperation
{
    public RandomApplication(ImageOperation operation, double probability)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "a probability is between 0 and 1");
        Operation = operation;
        Probability = probability;
    }

    public ImageOperation Operation { get; }
    public double Probability { get; }

    public override string Name => $"Random({Operation.Name}, p={Format(Probability)})";

    /// <summary>The op, or the same pixels with "skipped &lt;op&gt;" in the history.</summary>
    public override RgbFrame Apply(RgbFrame image, Random random) =>
        random.NextDouble() < Probability ? Operation.Apply(image, random) : image.WithNote($"skipped {Operation.Name}");
}
