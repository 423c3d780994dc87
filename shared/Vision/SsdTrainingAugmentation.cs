namespace Recipes.Runtime.Vision;

/// <summary>
/// The SSD paper's training augmentation (Liu et al. 2016, section 2.2 and the authors' ssd_pascal.py), every
/// step moving the boxes with the pixels: photometric distortion (<see cref="ColourJitter"/>: brightness ±32,
/// contrast and saturation x0.5..1.5, hue ±18 degrees, each with probability 0.5, in one of the two orders of
/// the Caffe code), zoom out (<see cref="Expand"/> onto a canvas of the mean colour, ratio 1..4, probability 0.5),
/// the <see cref="MinimumIouRandomCrop"/> sampler, a horizontal flip with probability 0.5, and a resize to
/// <see cref="Size"/> x <see cref="Size"/>. Every setting is a property, so a recipe states what it changes.
/// For evaluation only the resize applies: <c>new BoxFollowingOperation(new Resize(size, size))</c>.
/// </summary>
public sealed class SsdTrainingAugmentation : BoxAwareOperation
{
    BoxAwareChain? _steps;

    public SsdTrainingAugmentation(int size)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
    }

    /// <summary>The side of the square network input (300 for SSD300).</summary>
    public int Size { get; }

    /// <summary>The colour changes; anything whose geometry is the identity fits.</summary>
    public ImageOperation PhotometricDistortion { get; init; } = new ColourJitter();

    /// <summary>The canvas colour of the zoom-out: the training set's mean (VOC's R 123, G 117, B 104 by default).</summary>
    public float MeanRed { get; init; } = 123;
    public float MeanGreen { get; init; } = 117;
    public float MeanBlue { get; init; } = 104;
    public double ExpandProbability { get; init; } = 0.5;
    public double MaxExpandRatio { get; init; } = 4;
    public MinimumIouRandomCrop Crop { get; init; } = new();
    public double FlipProbability { get; init; } = 0.5;

    /// <summary>The chain built from the settings (once, on first use).</summary>
    public BoxAwareChain Steps => _steps ??= new BoxAwareChain(
    [
        new BoxFollowingOperation(PhotometricDistortion),
        new BoxFollowingOperation(new Expand(MeanRed, MeanGreen, MeanBlue, 1, MaxExpandRatio).WithProbability(ExpandProbability)),
        Crop,
        new BoxFollowingOperation(new HorizontalFlip().WithProbability(FlipProbability)),
        new BoxFollowingOperation(new Resize(Size, Size)),
    ]);

    public override string Name => Steps.Name;

    public override FrameWithBoxes Apply(FrameWithBoxes input, Random random) => Steps.Apply(input, random);
}
