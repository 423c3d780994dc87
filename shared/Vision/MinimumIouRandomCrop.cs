using System.Globalization;

namespace Recipes.Runtime.Vision;

/// <summary>
/// The SSD paper's patch sampler (Liu et al. 2016, section 2.2): draws one of <see cref="MinimumIouChoices"/>
/// (by default: the whole image, a window overlapping an object by IoU at least 0.1, 0.3, 0.5, 0.7 or 0.9, or
/// any window), then tries up to <see cref="MaxTrials"/> windows whose width and height are each a uniform
/// fraction in [<see cref="MinimumSideFraction"/>, 1] of the image's, with height / width in
/// [1 / <see cref="MaximumAspectRatio"/>, <see cref="MaximumAspectRatio"/>], at a uniform position.
/// <para>
/// A window is accepted when at least one object has IoU &gt;= the drawn minimum with it and at least one object's
/// centre lies strictly inside it. "At least one object" is the rule of the authors' Caffe code
/// (<c>SatisfySampleConstraint</c> accepts when any object box meets the constraint); ssd.pytorch intends the
/// minimum over all objects, which rejects most windows in crowded images and so crops those images less. The
/// objects kept are those whose centre lies inside the window, cut to it; the rest go with their labels.
/// If no trial succeeds, the input is returned unchanged (with a note in the history).
/// </para>
/// The crop records its shift in <see cref="RgbFrame.FromSource"/> and its window in the history, like the
/// other crops. An image without objects can only take the "any window" draw; the minimum-IoU draws leave it whole.
/// </summary>
public sealed class MinimumIouRandomCrop : BoxAwareOperation
{
    /// <summary>The paper's choices: null keeps the whole image, 0 accepts any window.</summary>
    public static IReadOnlyList<double?> SsdChoices { get; } = [null, 0.1, 0.3, 0.5, 0.7, 0.9, 0.0];

    readonly double?[] _choices;

    public MinimumIouRandomCrop(IReadOnlyList<double?>? minimumIouChoices = null, int maxTrials = 50,
        double minimumSideFraction = 0.3, double maximumAspectRatio = 2, double minimumBoxSide = DefaultMinimumBoxSide)
    {
        _choices = [.. minimumIouChoices ?? SsdChoices];
        if (_choices.Length == 0) throw new ArgumentException("give at least one choice (null for the whole image)", nameof(minimumIouChoices));
        if (_choices.Any(choice => choice is not null && !(choice is >= 0 and <= 1)))
            throw new ArgumentException("a minimum IoU is between 0 and 1 (or null for the whole image)", nameof(minimumIouChoices));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxTrials, 1);
        if (!(minimumSideFraction is > 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(minimumSideFraction), minimumSideFraction, "a side fraction is in (0, 1]");
        if (!(maximumAspectRatio >= 1)) throw new ArgumentOutOfRangeException(nameof(maximumAspectRatio), maximumAspectRatio, "the aspect bound is 1 or more");
        if (!(minimumBoxSide >= 0)) throw new ArgumentOutOfRangeException(nameof(minimumBoxSide), minimumBoxSide, "a minimum box side is 0 or more pixels");
        MaxTrials = maxTrials;
        MinimumSideFraction = minimumSideFraction;
        MaximumAspectRatio = maximumAspectRatio;
        MinimumBoxSide = minimumBoxSide;
    }

    public IReadOnlyList<double?> MinimumIouChoices => _choices;
    public int MaxTrials { get; }
    public double MinimumSideFraction { get; }
    public double MaximumAspectRatio { get; }
    public double MinimumBoxSide { get; }

    public override string Name =>
        $"MinimumIouRandomCrop([{string.Join(", ", _choices.Select(Describe))}], {MaxTrials} trials, sides >= {Format(MinimumSideFraction)}, aspect <= {Format(MaximumAspectRatio)})";

    public override FrameWithBoxes Apply(FrameWithBoxes input, Random random)
    {
        ArgumentNullException.ThrowIfNull(input);
        double? minimumIou = _choices[random.Next(_choices.Length)];
        if (minimumIou is null) return Unchanged(input, "min-IoU crop drew the whole image");
        var frame = input.Frame;
        var boxes = input.Boxes;
        if (boxes.Count == 0 && minimumIou > 0) return Unchanged(input, $"min-IoU crop drew IoU >= {Format(minimumIou.Value)} but there are no objects");
        for (int trial = 0; trial < MaxTrials; trial++)
        {
            double width = Uniform(random, MinimumSideFraction * frame.Width, frame.Width);
            double height = Uniform(random, MinimumSideFraction * frame.Height, frame.Height);
            if (height / width < 1 / MaximumAspectRatio || height / width > MaximumAspectRatio) continue;
            double left = Uniform(random, 0, frame.Width - width), top = Uniform(random, 0, frame.Height - height);
            // Whole pixels, so that the IoU is judged on exactly the window that is copied; floor(left) +
            // floor(width) <= left + width <= the image width, so the window never leaves the image.
            int x0 = (int)left, y0 = (int)top;
            int cropWidth = Math.Max(1, (int)width), cropHeight = Math.Max(1, (int)height);
            var window = new PixelBox(x0, y0, x0 + cropWidth, y0 + cropHeight);
            if (boxes.Count > 0 && !boxes.Any(box => BoxGeometry.IoU(box, window) >= minimumIou)) continue;
            bool CentreInside(PixelBox box)
            {
                var (x, y) = BoxGeometry.Centre(box);
                return x > window.Left && x < window.Right && y > window.Top && y < window.Bottom;
            }
            if (boxes.Count > 0 && !boxes.Any(CentreInside)) continue;
            var cropped = CropOperation.Crop(frame, x0, y0, cropWidth, cropHeight, $"min-IoU {Format(minimumIou.Value)} crop");
            return MoveBoxes(input, cropped, MinimumBoxSide, CentreInside);
        }
        return Unchanged(input, $"min-IoU crop found no window with IoU >= {Format(minimumIou.Value)} in {MaxTrials} trials");
    }

    static FrameWithBoxes Unchanged(FrameWithBoxes input, string note) => input with { Frame = input.Frame.WithNote(note) };

    static string Describe(double? choice) => choice is null ? "whole" : choice == 0 ? "any" : Format(choice.Value);

    static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
