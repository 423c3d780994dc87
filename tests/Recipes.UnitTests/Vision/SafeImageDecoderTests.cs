using Recipes.Runtime.Data;
using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Tests.Vision;

public sealed class SafeImageDecoderTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("vision-decoder-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static Image<Rgb24> Picture(int width, int height)
    {
        var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)(x * 4), (byte)(y * 4), (byte)((x + y) * 2));
        return image;
    }

    static byte[] Encode(Image<Rgb24> image, bool png)
    {
        using var stream = new MemoryStream();
        if (png) image.SaveAsPng(stream); else image.SaveAsJpeg(stream);
        return stream.ToArray();
    }

    [Fact]
    public void A_png_decodes_to_exactly_its_pixels()
    {
        using var picture = Picture(40, 30);
        var frame = SafeImageDecoder.Default.Decode(Write("picture.png", Encode(picture, png: true)));
        Assert.Equal((40, 30), (frame.Width, frame.Height));
        Assert.Equal([13 * 4f, 21 * 4f, 34 * 2f], TestFrames.Pixel(frame, 13, 21));
        Assert.Equal(new ImageHeader(40, 30, "PNG"), SafeImageDecoder.Default.ReadHeader(Path.Combine(_folder, "picture.png")));
    }

    [Fact]
    public void A_jpeg_decodes_close_to_its_pixels()
    {
        using var picture = Picture(64, 48);
        var frame = SafeImageDecoder.Default.Decode(Write("picture.jpg", Encode(picture, png: false)));
        Assert.Equal((64, 48), (frame.Width, frame.Height));
        Assert.Equal(40 * 4, frame[40, 20, 0], 12f); // lossy, but near
        Assert.Equal(20 * 4, frame[40, 20, 1], 12f);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_truncated_file_is_refused_naming_the_file_and_the_problem(bool png)
    {
        using var picture = Picture(64, 48);
        byte[] whole = Encode(picture, png);
        foreach (int keep in new[] { whole.Length - 2, whole.Length / 2, whole.Length / 5 })
        {
            string path = Write(png ? "cut.png" : "cut.jpg", whole[..keep]);
            var error = Assert.Throws<DataFileException>(() => SafeImageDecoder.Default.Decode(path));
            Assert.Equal(path, error.FilePath);
            Assert.StartsWith(png ? "truncated PNG" : "truncated JPEG", error.Problem);
        }
    }

    [Fact]
    public void A_header_declaring_a_huge_image_is_refused_before_decoding()
    {
        string path = Write("bomb.png", TestFrames.PngDeclaring(100_000, 100_000));
        Assert.True(new FileInfo(path).Length < 100);
        Assert.Equal(new ImageHeader(100_000, 100_000, "PNG"), SafeImageDecoder.Default.ReadHeader(path));
        var error = Assert.Throws<DataFileException>(() => SafeImageDecoder.Default.Decode(path));
        Assert.Contains("declares 100000x100000 = 10,000,000,000 pixels", error.Problem);
        Assert.Contains("not decoded", error.Problem);
    }

    [Fact]
    public void The_pixel_and_file_size_limits_are_configurable()
    {
        using var picture = Picture(40, 30);
        string path = Write("picture.png", Encode(picture, png: true));
        var tight = new SafeImageDecoder(new ImageDecodingLimits { MaxPixels = 1000 });
        Assert.Contains("40x30 = 1,200 pixels, over the limit of 1,000", Assert.Throws<DataFileException>(() => tight.Decode(path)).Problem);
        var small = new SafeImageDecoder(new ImageDecodingLimits { MaxFileBytes = 50 });
        Assert.Contains("over the image file limit of 50", Assert.Throws<DataFileException>(() => small.Decode(path)).Problem);
    }

    [Fact]
    public void Garbage_empty_and_missing_files_are_refused_with_their_problem()
    {
        var decoder = SafeImageDecoder.Default;
        Assert.Contains("not a recognised image", Assert.Throws<DataFileException>(() => decoder.Decode(Write("text.jpg", "hello, not a picture"u8.ToArray()))).Problem);
        Assert.Equal("empty file", Assert.Throws<DataFileException>(() => decoder.Decode(Write("empty.png", []))).Problem);
        Assert.Equal("no such image file", Assert.Throws<DataFileException>(() => decoder.Decode(Path.Combine(_folder, "missing.png"))).Problem);
        // A JPEG whose header is cut inside a segment.
        using var picture = Picture(16, 16);
        byte[] jpeg = Encode(picture, png: false);
        Assert.Contains("JPEG", Assert.Throws<DataFileException>(() => decoder.Decode(Write("header.jpg", jpeg[..30]))).Problem);
    }

    [Fact]
    public void The_seed_picture_decodes_when_the_shared_sample_is_present()
    {
        string seedPicture = Path.Combine(SharedData.Folder, "augmentation", "test.jpg");
        if (!File.Exists(seedPicture)) return; // the sample data sits beside the repository on CI and developer machines
        var frame = SafeImageDecoder.Default.Decode(seedPicture);
        Assert.Equal((500, 375), (frame.Width, frame.Height));
        var (min, max) = frame.ValueRange();
        Assert.True(max - min > 200, "a real photograph spans most of the range");
    }
}

/// <summary>Where ../shared/data is from the test binaries (the repository root's sibling).</summary>
static class SharedData
{
    public static string Folder { get; } = Find();

    static string Find()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            string candidate = Path.Combine(folder.FullName, "shared", "data");
            if (Directory.Exists(Path.Combine(candidate, "augmentation"))) return candidate;
        }
        return Path.Combine(AppContext.BaseDirectory, "no-shared-data");
    }
}
