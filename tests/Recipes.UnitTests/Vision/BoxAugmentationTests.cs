using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

/// <summary>
/// Boxes must follow the pixels through every op. The scene paints two solid rectangles at known boxes on a
/// plain background; after an op, the pixels well inside each mapped box must all have one colour (the
/// rectangle's, as the op left it) and the pixels just outside it a clearly different one. Together the two
/// checks pin every edge: a box that drifted, grew or shrank fails one of them.
/// </summary>
public class BoxAugmentationTests
{
    const int SceneWidth = 160, SceneHeight = 120;
    static readonly float[] Background = [30, 60, 200];
    static readonly float[] Red = [250, 20, 20];
    static readonly float[] Dark = [10, 10, 10];
    static readonly PixelBox RedBox = new(20, 30, 70, 80);
    static readonly PixelBox DarkBox = new(100, 10, 140, 50);

    /// <summary>The scene: a red and a dark rectangle (labels 3 and 7) on blue.</summary>
    static FrameWithBoxes Scene()
    {
        var pixels = new float[SceneWidth * SceneHeight * 3];
        for (int y = 0; y < SceneHeight; y++)
            for (int x = 0; x < SceneWidth; x++)
            {
                float[] colour = Inside(RedBox, x, y) ? Red : Inside(DarkBox, x, y) ? Dark : Background;
                colour.CopyTo(pixels, (y * SceneWidth + x) * 3);
            }
        return new FrameWithBoxes(new RgbFrame(SceneWidth, SceneHeight, pixels), [RedBox, DarkBox], [3, 7]);
    }

    static bool Inside(PixelBox box, int x, int y) => x >= box.Left && x < box.Right && y >= box.Top && y < box.Bottom;

    /// <summary>
    /// How far from an edge (in output pixels) a pixel centre must be to be unmixed. The bilinear resampler, like
    /// PIL's, blends source pixels within one source pixel of the output centre when enlarging and within one
    /// output pixel when shrinking (the filter widens to the output spacing): max(1, scale) output pixels.
    /// Half a pixel more absorbs the rounding of the filter's window. Without a resize the edges are exact.
    /// </summary>
    static double Margin(RgbFrame frame) => Math.Max(1, Math.Abs(frame.FromSource.ScaleX)) + 0.5;

    static float Difference(float[] a, float[] b) => Math.Max(Math.Abs(a[0] - b[0]), Math.Max(Math.Abs(a[1] - b[1]), Math.Abs(a[2] - b[2])));

    /// <summary>
    /// Checks every box against the pixels; returns how many boxes were large enough to have an unmixed inside.
    /// The colour tolerance inside is 0.5 of a level: a uniform area stays uniform through resampling up to float
    /// rounding. Outside, the colour must differ by more than 30 levels. The red, the dark, the blue and Expand's
    /// grey fill differ by 100 or more in some channel; SSD's colour ranges shrink that to 50 at worst (worked out
    /// for brightness -32 or +32, then saturation and contrast x0.5, the worst pairs: red against the fill, dark
    /// against blue), so 30 leaves room while a box that slipped onto its own rectangle differs by 0.
    /// </summary>
    static int AssertBoxesFrameTheirRectangles(FrameWithBoxes output, string what)
    {
        var frame = output.Frame;
        double margin = Margin(frame);
        int checkedBoxes = 0;
        foreach (var box in output.Boxes)
        {
            Assert.True(box.Left >= 0 && box.Top >= 0 && box.Right <= frame.Width && box.Bottom <= frame.Height, $"{what}: {box} leaves the {frame} frame");
            // Pixel x covers [x, x + 1]; its centre x + 0.5 must lie at least `margin` inside each edge.
            int x0 = (int)Math.Ceiling(box.Left + margin - 0.5), x1 = (int)Math.Floor(box.Right - margin - 0.5);
            int y0 = (int)Math.Ceiling(box.Top + margin - 0.5), y1 = (int)Math.Floor(box.Bottom - margin - 0.5);
            if (x0 > x1 || y0 > y1) continue;
            checkedBoxes++;
            float[] colour = TestFrames.Pixel(frame, (x0 + x1) / 2, (y0 + y1) / 2);
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++)
                    Assert.True(Difference(TestFrames.Pixel(frame, x, y), colour) <= 0.5f,
                        $"{what}: pixel ({x}, {y}) inside {box} is ({string.Join(", ", TestFrames.Pixel(frame, x, y))}), not the rectangle's ({string.Join(", ", colour)})");
            // Just outside each edge (where the frame goes on), along the middle of the edge.
            int outsideLeft = (int)Math.Floor(box.Left - margin - 0.5), outsideRight = (int)Math.Ceiling(box.Right + margin - 0.5);
            int outsideTop = (int)Math.Floor(box.Top - margin - 0.5), outsideBottom = (int)Math.Ceiling(box.Bottom + margin - 0.5);
            int midX = (x0 + x1) / 2, midY = (y0 + y1) / 2;
            foreach (var (x, y) in new[] { (outsideLeft, midY), (outsideRight, midY), (midX, outsideTop), (midX, outsideBottom) })
            {
                if (x < 0 || y < 0 || x >= frame.Width || y >= frame.Height) continue;
                Assert.True(Difference(TestFrames.Pixel(frame, x, y), colour) > 30,
                    $"{what}: pixel ({x}, {y}) just outside {box} still has the rectangle's colour: the box is too small or moved");
            }
        }
        return checkedBoxes;
    }

    static readonly Dictionary<string, BoxAwareOperation> SingleOperations = new()
    {
        ["brightness"] = new BoxFollowingOperation(new Brightness(-32, 32)),
        ["colour jitter"] = new BoxFollowingOperation(new ColourJitter()),
        ["resize down"] = new BoxFollowingOperation(new Resize(100, 90)),
        ["resize up"] = new BoxFollowingOperation(new Resize(300, 300)),
        ["aspect scale"] = new BoxFollowingOperation(new AspectScale(200)),
        ["horizontal flip"] = new BoxFollowingOperation(new HorizontalFlip()),
        ["random flip"] = new BoxFollowingOperation(new HorizontalFlip().WithProbability(0.5)),
        ["expand"] = new BoxFollowingOperation(new Expand(123, 117, 104, 1, 4)),
        ["center crop"] = new BoxFollowingOperation(new CenterCrop(100, 70)),
        ["random crop"] = new BoxFollowingOperation(new RandomCrop(90, 60)),
        ["fixed crop"] = new BoxFollowingOperation(new FixedCrop(0.1, 0.2, 0.8, 0.9, normalised: true)),
        ["image chain"] = new BoxFollowingOperation(new Expand().Then(new HorizontalFlip()).Then(new Resize(150, 150))),
        ["min-IoU crop"] = new MinimumIouRandomCrop(),
        ["random min-IoU crop"] = new MinimumIouRandomCrop().WithProbability(0.5),
        ["box-aware chain"] = new BoxFollowingOperation(new HorizontalFlip()).Then(new MinimumIouRandomCrop()).Then(new Resize(64, 64)),
        ["SSD augmentation"] = new SsdTrainingAugmentation(300),
    };

    public static TheoryData<string> OperationNames() => new(SingleOperations.Keys);

    [Theory]
    [MemberData(nameof(OperationNames))]
    public void Boxes_follow_every_op_over_many_seeds(string name)
    {
        var op = SingleOperations[name];
        int checkedBoxes = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var output = op.Apply(Scene(), seed);
            Assert.Equal(output.Boxes.Count, output.Labels.Count);
            checkedBoxes += AssertBoxesFrameTheirRectangles(output, $"{name}, seed {seed}");
        }
        Assert.True(checkedBoxes >= 20, $"{name}: only {checkedBoxes} boxes were large enough to check");
    }

    [Fact]
    public void Photometric_ops_keep_the_boxes_exactly()
    {
        var input = Scene();
        var output = new BoxFollowingOperation(new ColourJitter()).Apply(input, 5);
        Assert.Equal(input.Boxes, output.Boxes);
        Assert.Equal(input.Labels, output.Labels);
    }

    [Fact]
    public void Geometric_ops_move_boxes_to_hand_computed_places()
    {
        var flipped = new BoxFollowingOperation(new HorizontalFlip()).Apply(Scene(), 1);
        Assert.Equal([new PixelBox(90, 30, 140, 80), new PixelBox(20, 10, 60, 50)], flipped.Boxes); // x -> 160 - x
        var resized = new BoxFollowingOperation(new Resize(80, 240)).Apply(Scene(), 1);
        Assert.Equal([new PixelBox(10, 60, 35, 160), new PixelBox(50, 20, 70, 100)], resized.Boxes); // x / 2, y x 2
        var cropped = new BoxFollowingOperation(new FixedCrop(10, 20, 120, 100)).Apply(Scene(), 1);
        Assert.Equal([new PixelBox(10, 10, 60, 60), new PixelBox(90, 0, 110, 30)], cropped.Boxes); // shifted, the dark one cut at top and right
    }

    [Fact]
    public void Boxes_cut_away_go_with_their_labels()
    {
        // The left half keeps the red rectangle only.
        var left = new BoxFollowingOperation(new FixedCrop(0, 0, 80, 120)).Apply(Scene(), 1);
        Assert.Equal([RedBox], left.Boxes);
        Assert.Equal([3], left.Labels);
        Assert.Contains("dropped 1 box cut away", left.Frame.History);
        // The right half keeps the dark one.
        var right = new BoxFollowingOperation(new FixedCrop(80, 0, 160, 120)).Apply(Scene(), 1);
        Assert.Equal([new PixelBox(20, 10, 60, 50)], right.Boxes);
        Assert.Equal([7], right.Labels);
        // A strip that only touches the red box's edge leaves it with zero width: dropped too.
        var strip = new BoxFollowingOperation(new FixedCrop(70, 60, 90, 120)).Apply(Scene(), 1);
        Assert.Empty(strip.Boxes);
        Assert.Empty(strip.Labels);
    }

    [Fact]
    public void The_same_seed_gives_the_same_frame_and_boxes()
    {
        var op = new SsdTrainingAugmentation(96);
        for (int seed = 0; seed < 10; seed++)
        {
            var first = op.Apply(Scene(), seed);
            var second = op.Apply(Scene(), seed);
            Assert.Equal(first.Boxes, second.Boxes);
            Assert.Equal(first.Labels, second.Labels);
            Assert.Equal(first.Frame.History, second.Frame.History);
            Assert.Equal(first.Frame.Pixels.ToArray(), second.Frame.Pixels.ToArray());
        }
    }

    [Fact]
    public void The_SSD_chain_varies_with_the_seed_and_never_puts_a_box_outside_the_frame()
    {
        var op = new SsdTrainingAugmentation(300);
        var distinct = new HashSet<string>();
        for (int seed = 0; seed < 60; seed++)
        {
            var output = op.Apply(Scene(), seed);
            Assert.Equal((300, 300), (output.Frame.Width, output.Frame.Height));
            Assert.Equal(output.Boxes.Count, output.Labels.Count);
            foreach (var box in output.Boxes)
            {
                Assert.InRange(box.Left, 0, 300);
                Assert.InRange(box.Right, 0, 300);
                Assert.InRange(box.Top, 0, 300);
                Assert.InRange(box.Bottom, 0, 300);
                Assert.True(box.Width > 0 && box.Height > 0, $"seed {seed}: empty box {box}");
            }
            Assert.All(output.Labels, label => Assert.Contains(label, new[] { 3, 7 }));
            distinct.Add(string.Join(";", output.Boxes));
        }
        Assert.True(distinct.Count > 30, $"only {distinct.Count} distinct box layouts in 60 seeds");
    }

    [Fact]
    public void Min_IoU_crop_meets_its_overlap_keeps_centred_boxes_and_records_its_shift()
    {
        var crop = new MinimumIouRandomCrop([0.5]);
        var input = Scene();
        int cropped = 0;
        for (int seed = 0; seed < 30; seed++)
        {
            var output = crop.Apply(input, seed);
            if (output.Frame.FromSource == PixelMapping.Identity)
            {
                // IoU >= 0.5 with a 50 x 50 or 40 x 40 object needs a window near its size: about half the seeds
                // find none in 50 trials, and then the frame says so.
                Assert.Contains("min-IoU crop found no window with IoU >= 0.5 in 50 trials", output.Frame.History);
                Assert.Same(input.Boxes, output.Boxes);
                continue;
            }
            cropped++;
            // The window in scene coordinates, from the recorded shift.
            var (left, top) = BoxGeometry.Invert(output.Frame.FromSource).Map(0, 0);
            var window = new PixelBox(left, top, left + output.Frame.Width, top + output.Frame.Height);
            Assert.Equal(1, output.Frame.FromSource.ScaleX);
            Assert.Contains(input.Boxes, box => BoxGeometry.IoU(box, window) >= 0.5);
            Assert.Contains(output.Frame.History, note => note.StartsWith("min-IoU 0.5 crop"));
            // Exactly the boxes whose centre is inside, cut to the window and shifted into it.
            int kept = 0;
            for (int i = 0; i < input.Boxes.Count; i++)
            {
                var (x, y) = BoxGeometry.Centre(input.Boxes[i]);
                if (!(x > window.Left && x < window.Right && y > window.Top && y < window.Bottom)) continue;
                var expected = BoxGeometry.Clip(new PixelBox(input.Boxes[i].Left - left, input.Boxes[i].Top - top, input.Boxes[i].Right - left, input.Boxes[i].Bottom - top), window.Width, window.Height);
                Assert.Equal(expected, output.Boxes[kept]);
                Assert.Equal(input.Labels[i], output.Labels[kept]);
                kept++;
            }
            Assert.Equal(kept, output.Boxes.Count);
        }
        Assert.True(cropped >= 10, $"only {cropped} of 30 seeds found a window with IoU >= 0.5");
    }

    [Fact]
    public void Min_IoU_crop_returns_the_input_when_no_window_can_overlap_enough()
    {
        // A 4 x 4 object in a 160 x 120 image: every window is at least 48 x 36, so IoU <= 16 / 1728 < 0.9.
        var input = new FrameWithBoxes(RgbFrame.Filled(SceneWidth, SceneHeight, 10, 20, 30), [new PixelBox(50, 50, 54, 54)], [1]);
        var output = new MinimumIouRandomCrop([0.9]).Apply(input, 3);
        Assert.Same(input.Boxes, output.Boxes);
        Assert.Same(input.Labels, output.Labels);
        Assert.Equal((SceneWidth, SceneHeight), (output.Frame.Width, output.Frame.Height));
        Assert.Equal(PixelMapping.Identity, output.Frame.FromSource);
        Assert.Contains("min-IoU crop found no window with IoU >= 0.9 in 50 trials", output.Frame.History);
        // The whole-image draw passes everything through, with a note.
        var whole = new MinimumIouRandomCrop([null]).Apply(input, 3);
        Assert.Same(input.Boxes, whole.Boxes);
        Assert.Contains("min-IoU crop drew the whole image", whole.Frame.History);
    }

    [Fact]
    public void Random_application_skips_with_a_note_and_applies_otherwise()
    {
        var op = new BoxFollowingOperation(new HorizontalFlip()).WithProbability(0.5);
        int flipped = 0, skipped = 0;
        for (int seed = 0; seed < 40; seed++)
        {
            var output = op.Apply(Scene(), seed);
            if (output.Frame.History.Contains("skipped HorizontalFlip()"))
            {
                Assert.Equal([RedBox, DarkBox], output.Boxes);
                skipped++;
            }
            else
            {
                Assert.Equal(new PixelBox(90, 30, 140, 80), output.Boxes[0]);
                flipped++;
            }
        }
        Assert.True(flipped > 5 && skipped > 5, $"{flipped} flipped and {skipped} skipped of 40");
    }

    [Fact]
    public void Chains_flatten_and_name_their_steps()
    {
        var chain = new BoxFollowingOperation(new HorizontalFlip()).Then(new Resize(10, 10)).Then(new MinimumIouRandomCrop([null]));
        Assert.Equal(3, chain.Operations.Count);
        Assert.StartsWith("HorizontalFlip() -> Resize(10, 10) -> MinimumIouRandomCrop([whole]", chain.Name);
        var ssd = new SsdTrainingAugmentation(300);
        Assert.Equal(5, ssd.Steps.Operations.Count);
        Assert.EndsWith("Resize(300, 300)", ssd.Name);
    }

    [Fact]
    public void Boxes_and_labels_must_pair_up()
    {
        var frame = RgbFrame.Filled(4, 4, 0, 0, 0);
        Assert.Throws<ArgumentException>(() => new FrameWithBoxes(frame, [new PixelBox(0, 0, 1, 1)], []));
        Assert.Throws<ArgumentNullException>(() => new FrameWithBoxes(null!, [], []));
    }
}
