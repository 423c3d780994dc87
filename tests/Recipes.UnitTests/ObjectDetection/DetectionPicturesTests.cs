using Recipes.ObjectDetection;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using Recipes.Tests.Summaries;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.ObjectDetection;

public class DetectionPicturesTests
{
    static readonly string[] Classes = ["red", "green", "yellow", "blue", "orange", "purple", "cyan", "magenta", "lime", "pink",
        "teal", "lavender", "brown", "beige", "maroon", "mint", "olive", "apricot", "navy", "grey"];

    static readonly Rgb24 Ground = new(40, 90, 140);

    static Image<Rgb24> Solid(int width, int height, Rgb24 colour) => new(width, height, colour);

    static Detection At(int classIndex, float score, double left, double top, double right, double bottom) =>
        new(classIndex, score, new PixelBox(left, top, right, bottom));

    [Fact]
    public void A_detection_is_drawn_in_its_class_colour_on_its_edges_and_leaves_distant_pixels_alone()
    {
        using var image = Solid(100, 80, Ground);
        using var drawn = DetectionPictures.Draw(image, [At(3, 0.9f, 20, 30, 70, 60)], Classes, 0.5);
        var blue = DetectionPictures.ClassColour(3);
        Assert.Equal(new Rgb24(0, 130, 200), blue);
        Assert.Equal(2, DetectionPictures.LineWidth(100, 80));
        // Edge coordinates 20..70 cover pixels 20..69: the 2-pixel band lies just inside them.
        Assert.Equal(blue, drawn[20, 45]);
        Assert.Equal(blue, drawn[21, 45]);
        Assert.Equal(blue, drawn[69, 45]);
        Assert.Equal(blue, drawn[45, 59]);
        // A dark line just outside, a light one just inside.
        Assert.True(Sum(drawn[19, 45]) < Sum(Ground), $"outer line {drawn[19, 45]}");
        Assert.True(Sum(drawn[22, 45]) > Sum(Ground), $"inner line {drawn[22, 45]}");
        // The inside of the box, and everything away from the box and its tag (above the top-left corner), is untouched.
        Assert.Equal(Ground, drawn[45, 45]);
        Assert.Equal(Ground, drawn[5, 75]);
        Assert.Equal(Ground, drawn[95, 75]);
        Assert.Equal(Ground, drawn[95, 2]);
        // The input image is not changed.
        Assert.Equal(Ground, image[20, 45]);
    }

    static int Sum(Rgb24 pixel) => pixel.R + pixel.G + pixel.B;

    [Fact]
    public void Detections_below_the_threshold_are_not_drawn()
    {
        using var image = Solid(60, 50, Ground);
        using var drawn = DetectionPictures.Draw(image, [At(0, 0.49f, 10, 10, 40, 40)], Classes, 0.5);
        for (int y = 0; y < 50; y++)
            for (int x = 0; x < 60; x++)
                Assert.Equal(Ground, drawn[x, y]);
        // Exactly at the threshold counts as above it.
        using var atThreshold = DetectionPictures.Draw(image, [At(0, 0.5f, 10, 10, 40, 40)], Classes, 0.5);
        Assert.Equal(DetectionPictures.ClassColour(0), atThreshold[10, 25]);
    }

    [Fact]
    public void Boxes_reaching_outside_the_image_are_clipped_and_their_label_moves_inside()
    {
        using var image = Solid(100, 80, Ground);
        Detection[] detections =
        [
            At(1, 0.9f, -50, -20, 60, 200),                             // spills over the left, top and bottom
            At(2, 0.8f, 200, 200, 300, 300),                            // entirely outside
            At(4, 0.7f, double.NaN, 0, 10, 10),                         // broken coordinates
            At(5, 0.7f, -1e12, -1e12, 1e12, 1e12),                      // absurdly large
        ];
        using var drawn = DetectionPictures.Draw(image, detections, Classes, 0.5);
        var green = DetectionPictures.ClassColour(1);
        Assert.Equal(green, drawn[59, 40]); // the only edge inside the image: the right one
        Assert.Equal(Ground, drawn[80, 40]);
        // The box touches the top, so its tag sits inside it at the top-left corner of the visible part.
        if (SansSerifFont.Bold is not null) Assert.Equal(green, drawn[1, 1]);
    }

    [Fact]
    public void Label_text_is_black_on_light_class_colours_and_white_on_dark_ones()
    {
        Assert.Equal(new Rgb24(0, 0, 0), DetectionPictures.TextColourOn(new Rgb24(255, 225, 25)));   // yellow
        Assert.Equal(new Rgb24(0, 0, 0), DetectionPictures.TextColourOn(new Rgb24(255, 255, 255)));
        Assert.Equal(new Rgb24(255, 255, 255), DetectionPictures.TextColourOn(new Rgb24(0, 0, 128))); // navy
        Assert.Equal(new Rgb24(255, 255, 255), DetectionPictures.TextColourOn(new Rgb24(128, 0, 0))); // maroon
        // Mid grey 128 has luminance 0.216, above the 0.179 crossover: black reads better on it.
        Assert.Equal(new Rgb24(0, 0, 0), DetectionPictures.TextColourOn(new Rgb24(128, 128, 128)));
        Assert.Equal(new Rgb24(255, 255, 255), DetectionPictures.TextColourOn(new Rgb24(100, 100, 100)));

        if (SansSerifFont.Bold is null) return; // no font on this machine: labels are left out
        using var image = Solid(300, 200, new Rgb24(128, 128, 128));
        using var drawn = DetectionPictures.Draw(image, [At(2, 0.9f, 20, 60, 140, 180), At(18, 0.9f, 160, 60, 290, 180)], Classes, 0.5);
        // The tags (about 14 px tall at font size 11) sit just above y = 60 from the boxes' left edges; count
        // near-black and near-white pixels where their text begins, inside the tags' own outlines.
        var (yellowDark, yellowLight) = Ink(drawn, 22, 60, 49, 59);
        var (navyDark, navyLight) = Ink(drawn, 162, 200, 49, 59);
        Assert.True(yellowDark > 10 && yellowLight == 0, $"yellow tag: {yellowDark} dark, {yellowLight} light text pixels");
        Assert.True(navyLight > 10 && navyDark == 0, $"navy tag: {navyDark} dark, {navyLight} light text pixels");
    }

    static (int Dark, int Light) Ink(Image<Rgb24> image, int left, int right, int top, int bottom)
    {
        int dark = 0, light = 0;
        for (int y = top; y < bottom; y++)
            for (int x = left; x < right; x++)
            {
                int sum = Sum(image[x, y]);
                if (sum < 120) dark++;
                if (sum > 660) light++;
            }
        return (dark, light);
    }

    [Fact]
    public void Ground_truth_is_drawn_dashed_in_its_class_colour()
    {
        using var image = Solid(120, 100, Ground);
        using var drawn = DetectionPictures.Draw(image, [], Classes, 0.5, [new AnnotatedObject(3, new PixelBox(10, 10, 110, 60))]);
        var blue = DetectionPictures.ClassColour(3);
        // Along the top edge (row 10-11) dashes of 6 and gaps of 4 pixels: both colour and halo/ground appear.
        int coloured = Enumerable.Range(10, 100).Count(x => drawn[x, 10].Equals(blue));
        Assert.InRange(coloured, 40, 80);
        Assert.Equal(Ground, drawn[60, 35]);
    }

    [Fact]
    public void A_class_index_outside_the_names_is_refused()
    {
        using var image = Solid(20, 20, Ground);
        var error = Assert.Throws<ArgumentException>(() => DetectionPictures.Draw(image, [At(7, 0.9f, 1, 1, 5, 5)], ["a", "b"], 0.5));
        Assert.Contains("class index 7", error.Message);
    }

    [Fact]
    public void Classes_beyond_the_palette_get_distinct_colours()
    {
        var colours = Enumerable.Range(0, 60).Select(DetectionPictures.ClassColour).ToList();
        Assert.Equal(60, colours.Distinct().Count());
        Assert.Equal(DetectionPictures.ClassColour(45), colours[45]);
    }

    [Fact]
    public void A_gif_round_trip_keeps_frame_count_canvas_size_delay_and_looping()
    {
        using var folder = new TemporaryFolder();
        using var red = Solid(40, 30, new Rgb24(255, 0, 0));
        using var green = Solid(60, 20, new Rgb24(0, 255, 0));
        using var blue = Solid(50, 50, new Rgb24(0, 0, 255));
        string path = folder.File("frames.gif");
        AnimatedGif.Write(path, [red, green, blue], TimeSpan.FromMilliseconds(250));

        using var gif = Image.Load<Rgb24>(path);
        Assert.Equal(3, gif.Frames.Count);
        Assert.Equal((60, 50), (gif.Width, gif.Height)); // widest and tallest
        Assert.All(gif.Frames.Cast<ImageFrame<Rgb24>>(), frame => Assert.Equal(25, frame.Metadata.GetGifMetadata().FrameDelay));
        Assert.Equal(0, gif.Metadata.GetGifMetadata().RepeatCount);
        // Frames are centred over the grey background; 256 palette colours hold these exactly (small tolerance anyway).
        AssertNear(new Rgb24(255, 0, 0), gif.Frames[0][30, 25]);
        AssertNear(AnimatedGif.Background, gif.Frames[0][2, 2]);
        AssertNear(new Rgb24(0, 255, 0), gif.Frames[1][30, 25]);
        AssertNear(AnimatedGif.Background, gif.Frames[1][30, 2]);
        AssertNear(new Rgb24(0, 0, 255), gif.Frames[2][7, 2]); // 50 wide in 60: 5 pixels in
        AssertNear(AnimatedGif.Background, gif.Frames[2][2, 2]);
        Assert.Empty(Directory.GetFiles(folder.Path, "*.tmp"));

        AnimatedGif.Write(path, [red, green], TimeSpan.FromSeconds(1), loop: false);
        using var once = Image.Load<Rgb24>(path);
        Assert.Equal(2, once.Frames.Count);
        Assert.Equal(100, once.Frames[1].Metadata.GetGifMetadata().FrameDelay);
        Assert.Equal(1, once.Metadata.GetGifMetadata().RepeatCount);
    }

    static void AssertNear(Rgb24 expected, Rgb24 actual)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= 4 && Math.Abs(expected.G - actual.G) <= 4 && Math.Abs(expected.B - actual.B) <= 4,
            $"expected about {expected}, got {actual}");
    }

    [Fact]
    public void Natural_order_puts_frame2_before_frame10()
    {
        string[] names = ["frame10.png", "frame2.png", "a.png", "Frame1.png", "frame01.png", "frame1.png", "frame99999999999999999999.png"];
        var sorted = names.Order(NaturalFileOrder.Instance).ToArray();
        Assert.Equal(["a.png", "Frame1.png", "frame01.png", "frame1.png", "frame2.png", "frame10.png", "frame99999999999999999999.png"], sorted);
    }

    static readonly Rgb24[] FrameColours = [new(200, 30, 30), new(30, 200, 30), new(30, 30, 200)];

    [Fact]
    public void A_folder_is_annotated_in_natural_order_with_corrupt_files_counted_and_skipped()
    {
        using var input = new TemporaryFolder();
        using var output = new TemporaryFolder();
        // Written out of order: frame1 red, frame2 green, frame10 blue.
        foreach (var (name, colour) in new[] { ("frame10.png", FrameColours[2]), ("frame2.png", FrameColours[1]), ("frame1.png", FrameColours[0]) })
        {
            using var image = Solid(80, 60, colour);
            image.SaveAsPng(input.File(name));
        }
        File.WriteAllBytes(input.File("frame3.jpg"), [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]); // cut-off JPEG
        File.WriteAllText(input.File("notes.txt"), "not an image");

        var calls = new List<string>();
        IReadOnlyList<Detection> Detect(string path)
        {
            calls.Add(Path.GetFileName(path));
            return [At(1, 0.9f, 10, 10, 50, 40), At(0, 0.1f, 5, 5, 20, 20)];
        }
        var log = new StringWriter();
        var result = DetectionVisualiser.AnnotateFolder(Detect, input.Path, output.Path, Classes, 0.5, log);

        Assert.Equal(["frame1.png", "frame2.png", "frame10.png"], calls);
        Assert.Equal(3, result.Images);
        Assert.Equal(3, result.DetectionsDrawn); // the 0.1 ones are below the threshold
        var skip = Assert.Single(result.Skipped);
        Assert.EndsWith("frame3.jpg", skip.Origin);
        Assert.Contains("frame3.jpg", log.ToString());
        foreach (string name in new[] { "frame1.jpg", "frame2.jpg", "frame10.jpg" }) Assert.True(File.Exists(output.File(name)), name);
        Assert.False(File.Exists(output.File("frame3.jpg")));

        Assert.Equal(output.File(DetectionVisualiser.GifName), result.GifPath);
        using var gif = Image.Load<Rgb24>(result.GifPath!);
        Assert.Equal(3, gif.Frames.Count);
        for (int i = 0; i < 3; i++) AssertNear(FrameColours[i], gif.Frames[i][70, 55]); // far from the box: the frame's own colour
        using (var annotated = Image.Load<Rgb24>(output.File("frame2.jpg")))
            Assert.Equal((80, 60), (annotated.Width, annotated.Height));

        // With room for two GIF frames, the GIF holds the first two; every image still gets its JPEG.
        using var capped = new TemporaryFolder();
        var log2 = new StringWriter();
        var first2 = DetectionVisualiser.AnnotateFolder(Detect, input.Path, capped.Path, Classes, 0.5, log2, maxGifFrames: 2);
        Assert.Equal((3, 2), (first2.Images, first2.GifFrames));
        Assert.Contains("the first 2 of 3 frames", log2.ToString());
        using var shortGif = Image.Load<Rgb24>(first2.GifPath!);
        Assert.Equal(2, shortGif.Frames.Count);
        AssertNear(FrameColours[1], shortGif.Frames[1][70, 55]);
        Assert.True(File.Exists(capped.File("frame10.jpg")));
    }

    [Fact]
    public void Oversized_images_are_skipped_and_the_output_folder_must_differ_from_the_input()
    {
        using var input = new TemporaryFolder();
        using var output = new TemporaryFolder();
        using (var small = Solid(20, 20, Ground)) small.SaveAsPng(input.File("small.png"));
        using (var large = Solid(60, 60, Ground)) large.SaveAsPng(input.File("large.png"));
        var decoder = new SafeImageDecoder(new ImageDecodingLimits { MaxPixels = 1000 });
        var result = DetectionVisualiser.AnnotateFolder(_ => [], input.Path, output.Path, Classes, 0.5, TextWriter.Null, decoder);
        Assert.Equal(1, result.Images);
        Assert.EndsWith("large.png", Assert.Single(result.Skipped).Origin);

        Assert.Throws<ArgumentException>(() => DetectionVisualiser.AnnotateFolder(_ => [], input.Path, input.Path + "/", Classes, 0.5, TextWriter.Null));
    }

    [Fact]
    public void The_strip_shows_each_image_twice_at_a_common_size()
    {
        using var folder = new TemporaryFolder();
        using (var wide = Solid(200, 100, Ground)) wide.SaveAsPng(folder.File("wide.png"));
        using (var tall = Solid(50, 100, Ground)) tall.SaveAsPng(folder.File("tall.png"));
        string path = folder.File("strip.png");
        int shown = DetectionPictures.WriteStrip(path,
        [
            (folder.File("wide.png"), [At(0, 0.9f, 10, 10, 100, 90)], [new AnnotatedObject(0, new PixelBox(12, 12, 98, 88))]),
            (folder.File("missing.png"), [], []),
            (folder.File("tall.png"), [], [new AnnotatedObject(1, new PixelBox(5, 5, 45, 95), Difficult: true)]),
        ], Classes, 0.5, "Test images");
        Assert.Equal(2, shown);
        using var strip = Image.Load<Rgb24>(path);
        // Fitted into 400 x 300: the wide one becomes 400 x 200 (x2), the tall one 150 x 300 (x3); cells are
        // 400 x 300, two to a row.
        Assert.Equal((400, 300), (DetectionPictures.StripImageWidth, DetectionPictures.StripImageHeight));
        int pad = ContactSheet.Padding;
        Assert.Equal(pad + 2 * (400 + pad), strip.Width);
        Assert.Equal(pad + ContactSheet.HeadingHeight + 2 * (300 + ContactSheet.CaptionHeight + pad), strip.Height);
        // The predicted box (scaled x2) on the left tile: its left edge at x 20 of a tile starting at pad, centred
        // vertically (50 px down in its cell); the box's middle row is y 100 of the tile.
        var red = DetectionPictures.ClassColour(0);
        int tileTop = pad + ContactSheet.HeadingHeight + 50;
        Assert.Equal(red, strip[pad + 20, tileTop + 100]);
        Assert.Equal(red, strip[pad + 21, tileTop + 100]);
    }
}
