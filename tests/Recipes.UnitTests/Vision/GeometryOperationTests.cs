using Recipes.Runtime.Vision;

namespace Recipes.Tests.Vision;

public class GeometryOperationTests
{
    static readonly RgbFrame Grid = TestFrames.Coordinates(10, 6);

    [Fact]
    public void Horizontal_flip_mirrors_columns_and_twice_is_the_identity()
    {
        var flip = new HorizontalFlip();
        var once = flip.Apply(Grid, 1);
        Assert.Equal([9f, 2f, 7f], TestFrames.Pixel(once, 0, 2));
        Assert.Equal([0f, 5f, 7f], TestFrames.Pixel(once, 9, 5));
        Assert.Equal(Grid.Pixels.ToArray(), flip.Apply(once, 1).Pixels.ToArray());
        // A box hugging the left edge lands on the right edge.
        Assert.Equal(new PixelBox(8, 1, 10, 3), once.FromSource.Map(new PixelBox(0, 1, 2, 3)));
        Assert.Equal(PixelMapping.Identity, flip.Apply(once, 1).FromSource);
    }

    [Fact]
    public void Center_crop_takes_the_middle_window()
    {
        var crop = new CenterCrop(4, 2).Apply(Grid, 1);
        Assert.Equal((4, 2), (crop.Width, crop.Height));
        Assert.Equal([3f, 2f, 7f], TestFrames.Pixel(crop, 0, 0)); // (10-4)/2 = 3, (6-2)/2 = 2
        Assert.Equal([6f, 3f, 7f], TestFrames.Pixel(crop, 3, 1));
        Assert.Equal((0.0, 0.0), crop.FromSource.Map(3, 2));
    }

    [Fact]
    public void Crops_larger_than_the_image_keep_their_size_with_the_image_centred_and_zeros_around_it()
    {
        // torchvision's CenterCrop: the window is always the promised size, so every image of a batch matches.
        var crop = new CenterCrop(20, 4).Apply(Grid, 1);
        Assert.Equal((20, 4), (crop.Width, crop.Height));
        Assert.Equal([0f, 0f, 0f], TestFrames.Pixel(crop, 4, 0)); // padding left of the image
        Assert.Equal([0f, 1f, 7f], TestFrames.Pixel(crop, 5, 0)); // (20-10)/2 = 5 columns of padding, (6-4)/2 = 1 row cropped
        Assert.Equal([9f, 4f, 7f], TestFrames.Pixel(crop, 14, 3));
        Assert.Equal([0f, 0f, 0f], TestFrames.Pixel(crop, 15, 3)); // padding right of it
        Assert.Equal((5.0, 0.0), crop.FromSource.Map(0, 1)); // boxes follow the pixels

        var tiny = new CenterCrop(3, 3).Apply(TestFrames.Of(1, 1, 9, 8, 7), 1);
        Assert.Equal((3, 3), (tiny.Width, tiny.Height));
        Assert.Equal([9f, 8f, 7f], TestFrames.Pixel(tiny, 1, 1));
        Assert.Equal([0f, 0f, 0f], TestFrames.Pixel(tiny, 0, 0));

        // A random crop pads the same way along a side that is too short, and still draws along the other.
        var lefts = new HashSet<double>();
        for (int seed = 0; seed < 30; seed++)
        {
            var random = new RandomCrop(4, 10).Apply(Grid, seed);
            Assert.Equal((4, 10), (random.Width, random.Height));
            var (x, y) = random.FromSource.Map(0, 0);
            Assert.Equal(2.0, y); // (10-6)/2 rows of padding above
            Assert.Equal([-(float)x, 0f, 7f], TestFrames.Pixel(random, 0, 2));
            lefts.Add(x);
        }
        Assert.Equal(7, lefts.Count);
    }

    [Fact]
    public void Random_crop_stays_inside_the_image_reports_its_offset_and_repeats_with_the_seed()
    {
        var op = new RandomCrop(4, 3);
        var offsets = new HashSet<(double, double)>();
        for (int seed = 0; seed < 100; seed++)
        {
            var crop = op.Apply(Grid, seed);
            Assert.Equal((4, 3), (crop.Width, crop.Height));
            var (x, y) = crop.FromSource.Map(0, 0);
            int left = (int)-x, top = (int)-y;
            Assert.InRange(left, 0, 6);
            Assert.InRange(top, 0, 3);
            Assert.Equal([left, top, 7f], TestFrames.Pixel(crop, 0, 0)); // the pixels are where the mapping says
            Assert.Equal(crop.Pixels.ToArray(), op.Apply(Grid, seed).Pixels.ToArray());
            offsets.Add((x, y));
        }
        Assert.Equal(7 * 4, offsets.Count); // every position is reachable
    }

    [Fact]
    public void Fixed_crop_in_pixels_and_in_fractions()
    {
        var pixels = new FixedCrop(2, 1, 5, 4).Apply(Grid, 1);
        Assert.Equal((3, 3), (pixels.Width, pixels.Height));
        Assert.Equal([2f, 1f, 7f], TestFrames.Pixel(pixels, 0, 0));
        Assert.Equal([4f, 3f, 7f], TestFrames.Pixel(pixels, 2, 2));
        var fractions = new FixedCrop(0.5, 0.5, 1, 1, normalised: true).Apply(Grid, 1);
        Assert.Equal((5, 3), (fractions.Width, fractions.Height));
        Assert.Equal([5f, 3f, 7f], TestFrames.Pixel(fractions, 0, 0));
        Assert.Throws<ArgumentException>(() => new FixedCrop(5, 1, 2, 4));
    }

    [Fact]
    public void Filler_paints_exactly_the_given_fraction_of_the_image()
    {
        var filled = new Filler(0, 0, 0.5, 0.5, 255).Apply(Grid, 1);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 10; x++)
            {
                float[] expected = x < 5 && y < 3 ? [255f, 255f, 255f] : [x, y, 7f];
                Assert.Equal(expected, TestFrames.Pixel(filled, x, y));
            }
    }

    [Fact]
    public void Expand_places_the_image_at_the_reported_offset_on_a_canvas_of_means()
    {
        var op = new Expand(123, 117, 104, minRatio: 1.5, maxRatio: 2);
        for (int seed = 0; seed < 20; seed++)
        {
            var expanded = op.Apply(Grid, seed);
            Assert.InRange(expanded.Width, 15, 20);
            Assert.InRange(expanded.Height, 9, 12);
            var (left, top) = expanded.FromSource.Map(0, 0);
            Assert.Contains($"at ({left}, {top})", expanded.History.Single());
            for (int y = 0; y < expanded.Height; y++)
                for (int x = 0; x < expanded.Width; x++)
                {
                    int sx = x - (int)left, sy = y - (int)top;
                    float[] expected = sx is >= 0 and < 10 && sy is >= 0 and < 6 ? [sx, sy, 7f] : [123f, 117f, 104f];
                    Assert.Equal(expected, TestFrames.Pixel(expanded, x, y));
                }
        }
    }

    [Fact]
    public void Resize_keeps_a_flat_image_flat_and_interpolates_when_enlarging()
    {
        var flat = RgbFrame.Filled(7, 5, 10, 20, 30);
        var resized = new Resize(3, 11).Apply(flat, 1);
        Assert.Equal((3, 11), (resized.Width, resized.Height));
        Assert.All(resized.Pixels.ToArray().Chunk(3), pixel => Assert.Equal([10f, 20f, 30f], pixel, new ToleranceComparer(1e-4f)));

        // Two pixels 0 and 100 doubled: centres at 0.25, 0.75, 1.25, 1.75 in source coordinates.
        var ramp = TestFrames.Of(2, 1, 0, 0, 0, 100, 100, 100);
        var doubled = new Resize(4, 1).Apply(ramp, 1);
        Assert.Equal([0f, 25f, 75f, 100f], Enumerable.Range(0, 4).Select(x => doubled[x, 0, 0]).ToArray());
        Assert.Equal(PixelMapping.Scale(2, 1), doubled.FromSource);
    }

    [Fact]
    public void Resize_when_shrinking_averages_every_source_pixel_with_a_widened_triangle()
    {
        // 4 -> 2: the triangle spans 2 source pixels each side. Output 0 is centred at 1.0: source pixels
        // 0, 1, 2 weigh 0.75, 0.75, 0.25 (renormalised by 1.75); output 1 at 3.0: pixels 1, 2, 3 weigh 0.25, 0.75, 0.75.
        var row = TestFrames.Of(4, 1, 0, 0, 0, 100, 100, 100, 200, 200, 200, 300, 300, 300);
        var halved = new Resize(2, 1).Apply(row, 1);
        Assert.Equal((0 * 0.75f + 100 * 0.75f + 200 * 0.25f) / 1.75f, halved[0, 0, 0], 0.001f);
        Assert.Equal((100 * 0.25f + 200 * 0.75f + 300 * 0.75f) / 1.75f, halved[1, 0, 0], 0.001f);
        // Vertical shrinking uses the same weights.
        var column = TestFrames.Of(1, 4, 0, 0, 0, 100, 100, 100, 200, 200, 200, 300, 300, 300);
        var halvedColumn = new Resize(1, 2).Apply(column, 1);
        Assert.Equal(halved[0, 0, 1], halvedColumn[0, 0, 1], 0.001f);
        Assert.Equal(halved[1, 0, 2], halvedColumn[0, 1, 2], 0.001f);
    }

    [Fact]
    public void Aspect_scale_sets_the_shorter_side_unless_the_longer_one_would_pass_the_maximum()
    {
        var seedPicture = RgbFrame.Filled(500, 375, 1, 2, 3);
        var scaled = new AspectScale(200, maxLongSide: 3000).Apply(seedPicture, 1);
        Assert.Equal((267, 200), (scaled.Width, scaled.Height));
        var capped = new AspectScale(200, maxLongSide: 250).Apply(seedPicture, 1);
        Assert.Equal((250, 188), (capped.Width, capped.Height));
        Assert.Equal((256, 192), Resize.AspectSize(500, 375, 190, 1000, multipleOf: 32));
    }

    [Fact]
    public void Random_aspect_scale_picks_each_listed_size_with_the_seed()
    {
        var picture = RgbFrame.Filled(50, 40, 1, 2, 3);
        var op = new RandomAspectScale([10, 30]);
        var heights = Enumerable.Range(0, 40).Select(seed => op.Apply(picture, seed).Height).ToArray();
        Assert.Equal([10, 30], heights.Distinct().Order().ToArray());
        Assert.Equal(heights, Enumerable.Range(0, 40).Select(seed => op.Apply(picture, seed).Height).ToArray());
    }

    [Fact]
    public void Mappings_compose_through_a_chain_so_boxes_follow_the_pixels()
    {
        // Resize x2, crop at (4, 2), flip: the source pixel (3, 2) ends where the mapping says.
        var chain = new Resize(20, 12).Then(new FixedCrop(4, 2, 16, 10)).Then(new HorizontalFlip());
        var marked = TestFrames.Coordinates(10, 6);
        var result = chain.Apply(marked, 1);
        var (x, y) = result.FromSource.Map(3.5, 2.5); // centre of source pixel (3, 2)
        Assert.Equal((12 - (3.5 * 2 - 4), 2.5 * 2 - 2), (x, y));
        Assert.Equal(3f, result[(int)x, (int)y, 0], 0.6f);
        Assert.Equal(2f, result[(int)x, (int)y, 1], 0.6f);
        Assert.Equal(3, result.History.Count);
    }

    sealed class ToleranceComparer(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float value) => 0;
    }
}
