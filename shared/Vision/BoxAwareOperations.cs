namespace Recipes.Runtime.Vision;

/// <summary>
/// A frame with the objects marked in it: one box (edge coordinates of <see cref="Frame"/>) and one class label
/// per object, in the same order. Box-aware ops return a new one whose boxes sit on the same objects in the new
/// frame. Equality compares the lists by reference, like any record holding lists.
/// </summary>
public sealed record FrameWithBoxes(RgbFrame Frame, IReadOnlyList<PixelBox> Boxes, IReadOnlyList<int> Labels)
{
    public RgbFrame Frame { get; init; } = Frame ?? throw new ArgumentNullException(nameof(Frame));
    public IReadOnlyList<PixelBox> Boxes { get; init; } = Boxes ?? throw new ArgumentNullException(nameof(Boxes));
    public IReadOnlyList<int> Labels { get; init; } = Labels is null ? throw new ArgumentNullException(nameof(Labels))
        : Labels.Count == Boxes?.Count ? Labels : throw new ArgumentException($"{Boxes?.Count} boxes need {Boxes?.Count} labels, not {Labels.Count}", nameof(Labels));
}

/// <summary>
/// An augmentation step for detection: changes the frame and moves its boxes with it, dropping the objects it
/// cuts away together with their labels. Like <see cref="ImageOperation"/>, every random choice comes from the
/// <see cref="Random"/> given, so the same seed gives the same frame and boxes. Wrap any image op with
/// <see cref="BoxFollowingOperation"/>; compose with <see cref="Then(BoxAwareOperation)"/> and <see cref="WithProbability"/>.
/// </summary>
public abstract class BoxAwareOperation
{
    /// <summary>
    /// Boxes narrower or lower than this (in pixels) after clipping are dropped: the default only removes boxes
    /// that clipping left empty, up to floating-point error. Dropping tiny objects on purpose is a recipe's choice.
    /// </summary>
    public const double DefaultMinimumBoxSide = 1e-3;

    /// <summary>The op and its parameters, for example "HorizontalFlip()".</summary>
    public abstract string Name { get; }

    public abstract FrameWithBoxes Apply(FrameWithBoxes input, Random random);

    /// <summary>Applies the op with a generator seeded by <paramref name="seed"/>.</summary>
    public FrameWithBoxes Apply(FrameWithBoxes input, int seed) => Apply(input, new Random(seed));

    /// <summary>This op, then <paramref name="next"/>.</summary>
    public BoxAwareChain Then(BoxAwareOperation next) => new([this, next]);

    /// <summary>This op, then the image op <paramref name="next"/> with the boxes following it.</summary>
    public BoxAwareChain Then(ImageOperation next) => new([this, new BoxFollowingOperation(next)]);

    /// <summary>This op applied with probability <paramref name="probability"/>, the rest passing unchanged.</summary>
    public BoxAwareRandomApplication WithProbability(double probability) => new(this, probability);

    public override string ToString() => Name;

    /// <summary>A uniform draw from [low, high).</summary>
    protected static double Uniform(Random random, double low, double high) => low + (high - low) * random.NextDouble();

    /// <summary>
    /// The boxes of <paramref name="before"/> carried into <paramref name="after"/>, a frame derived from it:
    /// the step between them is the new frame's <see cref="RgbFrame.FromSource"/> after the inverse of the old
    /// one's. Each box is mapped, clipped to the new frame and dropped with its label when a side falls below
    /// <paramref name="minimumBoxSide"/>; <paramref name="keep"/> can drop boxes before mapping.
    /// </summary>
    protected static FrameWithBoxes MoveBoxes(FrameWithBoxes before, RgbFrame after, double minimumBoxSide, Func<PixelBox, bool>? keep = null)
    {
        // Photometric ops keep the mapping: then the boxes stay bit for bit (inverse-then-forward would not).
        var step = before.Frame.FromSource == after.FromSource
            ? PixelMapping.Identity
            : BoxGeometry.Invert(before.Frame.FromSource).Then(after.FromSource);
        var boxes = new List<PixelBox>(before.Boxes.Count);
        var labels = new List<int>(before.Boxes.Count);
        for (int i = 0; i < before.Boxes.Count; i++)
        {
            if (keep is not null && !keep(before.Boxes[i])) continue;
            var box = BoxGeometry.Clip(step.Map(before.Boxes[i]), after.Width, after.Height);
            if (box.Width < minimumBoxSide || box.Height < minimumBoxSide) continue;
            boxes.Add(box);
            labels.Add(before.Labels[i]);
        }
        int dropped = before.Boxes.Count - boxes.Count;
        var frame = dropped > 0 ? after.WithNote($"dropped {dropped} box{(dropped == 1 ? "" : "es")} cut away") : after;
        return new FrameWithBoxes(frame, boxes, labels);
    }
}

/// <summary>
/// Any <see cref="ImageOperation"/> with the boxes following it. Photometric ops (brightness, colour jitter)
/// leave the boxes as they are; geometric ops (resizes, flips, expands, crops, random applications and chains
/// of them) record how pixels move in <see cref="RgbFrame.FromSource"/>, and the boxes move the same way, are
/// clipped to the new frame and dropped with their labels when nothing of them is left.
/// </summary>
public sealed class BoxFollowingOperation : BoxAwareOperation
{
    public BoxFollowingOperation(ImageOperation operation, double minimumBoxSide = DefaultMinimumBoxSide)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!(minimumBoxSide >= 0)) throw new ArgumentOutOfRangeException(nameof(minimumBoxSide), minimumBoxSide, "a minimum box side is 0 or more pixels");
        Operation = operation;
        MinimumBoxSide = minimumBoxSide;
    }

    public ImageOperation Operation { get; }
    public double MinimumBoxSide { get; }

    public override string Name => Operation.Name;

    public override FrameWithBoxes Apply(FrameWithBoxes input, Random random)
    {
        ArgumentNullException.ThrowIfNull(input);
        return MoveBoxes(input, Operation.Apply(input.Frame, random), MinimumBoxSide);
    }
}

/// <summary>Box-aware ops applied one after another.</summary>
public sealed class BoxAwareChain : BoxAwareOperation
{
    public BoxAwareChain(IEnumerable<BoxAwareOperation> operations)
    {
        ArgumentNullException.ThrowIfNull(operations);
        // Nested chains flatten, as ImageChain does, so the name lists every step once.
        Operations = operations.SelectMany(op => op switch
        {
            null => throw new ArgumentException("a chain cannot contain a null op", nameof(operations)),
            BoxAwareChain chain => chain.Operations,
            _ => [op],
        }).ToArray();
    }

    public IReadOnlyList<BoxAwareOperation> Operations { get; }

    public override string Name => Operations.Count == 0 ? "None" : string.Join(" -> ", Operations.Select(op => op.Name));

    public override FrameWithBoxes Apply(FrameWithBoxes input, Random random)
    {
        foreach (var operation in Operations) input = operation.Apply(input, random);
        return input;
    }
}

/// <summary>
/// Applies a box-aware op with a probability. An image op can also be made random first
/// (<c>new BoxFollowingOperation(new HorizontalFlip().WithProbability(0.5))</c>): both draw the same coin.
/// </summary>
public sealed class BoxAwareRandomApplication : BoxAwareOperation
{
    public BoxAwareRandomApplication(BoxAwareOperation operation, double probability)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!(probability is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(probability), probability, "a probability is between 0 and 1");
        Operation = operation;
        Probability = probability;
    }

    public BoxAwareOperation Operation { get; }
    public double Probability { get; }

    public override string Name => $"Random({Operation.Name}, p={Probability.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)})";

    /// <summary>The op, or the same frame and boxes with "skipped &lt;op&gt;" in the history.</summary>
    public override FrameWithBoxes Apply(FrameWithBoxes input, Random random) =>
        random.NextDouble() < Probability ? Operation.Apply(input, random) : input with { Frame = input.Frame.WithNote($"skipped {Operation.Name}") };
}
