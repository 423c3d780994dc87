using Recipes.Runtime.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.Metadata;
using SixLabors.ImageSharp.PixelFormats;

namespace Recipes.Runtime.Vision;

/// <summary>Limits a decoder enforces before it spends memory on a file.</summary>
public sealed record ImageDecodingLimits
{
    /// <summary>Largest width x height accepted; about 7000 x 7000 by default (the chest X-rays are 1 megapixel).</summary>
    public long MaxPixels { get; init; } = 50_000_000;

    /// <summary>Largest file accepted, in bytes.</summary>
    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;
}

/// <summary>What an image file's header declares, read without decoding the pixels.</summary>
public sealed record ImageHeader(int Width, int Height, string Format);

/// <summary>
/// Decodes JPEG, PNG, BMP, GIF (first frame) and WebP files to RGB frames without trusting them: the header is
/// read first and an image whose declared size exceeds <see cref="ImageDecodingLimits.MaxPixels"/> is refused
/// before any pixel memory is allocated (a 100 KB PNG can declare 100000 x 100000 pixels: 30 GB decoded);
/// JPEG and PNG files must reach their end marker (decoders silently fill a truncated file with black); any
/// decoder failure becomes a <see cref="DataFileException"/> naming the file and the problem. Thread-safe.
/// </summary>
public sealed class SafeImageDecoder
{
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    public static SafeImageDecoder Default { get; } = new();

    readonly Configuration _configuration;

    public SafeImageDecoder(ImageDecodingLimits? limits = null)
    {
        Limits = limits ?? new ImageDecodingLimits();
        if (Limits.MaxPixels < 1 || Limits.MaxFileBytes < 1) throw new ArgumentException("decoding limits must be positive");
        // Only the formats image data sets use; TIFF, TGA and PBM decoders are not exposed to untrusted files.
        _configuration = new Configuration(new JpegConfigurationModule(), new PngConfigurationModule(), new BmpConfigurationModule(),
            new GifConfigurationModule(), new WebpConfigurationModule())
        {
            // Pipelines decode many images in parallel; one thread per image avoids oversubscription.
            MaxDegreeOfParallelism = 1,
            PreferContiguousImageBuffers = true,
            MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { MaximumPoolSizeMegabytes = 64 }),
        };
        _configuration.ImageFormatsManager.SetDecoder(JpegFormat.Instance, new JpegDecoder { IgnoreMetadata = true });
        _configuration.ImageFormatsManager.SetDecoder(PngFormat.Instance, new PngDecoder { IgnoreMetadata = true });
        _configuration.ImageFormatsManager.SetDecoder(WebpFormat.Instance, new WebpDecoder { IgnoreMetadata = true });
        _configuration.ImageFormatsManager.SetDecoder(GifFormat.Instance, new GifDecoder { IgnoreMetadata = true, DecodingMode = FrameDecodingMode.First });
    }

    public ImageDecodingLimits Limits { get; }

    /// <summary>True when the file name has an extension this decoder reads.</summary>
    public static bool IsImageFile(string path) => Extensions.Contains(Path.GetExtension(path).ToLowerInvariant());

    public ImageHeader ReadHeader(string path) => ReadHeader(ReadFile(path), path);

    /// <summary>
    /// The declared size and format. A JPEG or PNG must also be complete up to its end marker: checked first,
    /// so a cut file is reported as truncated wherever the cut falls.
    /// </summary>
    public ImageHeader ReadHeader(byte[] encoded, string origin)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        string? incomplete = EncodedImageStructure.FindProblem(encoded);
        if (incomplete is not null) throw new DataFileException(origin, incomplete);
        IImageInfo? info;
        IImageFormat? format;
        try
        {
            info = Image.Identify(_configuration, encoded, out format);
        }
        catch (Exception error) when (error is ImageFormatException or NotSupportedException or ArgumentException or IndexOutOfRangeException)
        {
            throw new DataFileException(origin, $"corrupt image header: {error.Message}", error);
        }
        if (info is null || format is null)
            throw new DataFileException(origin, $"not a recognised image ({string.Join(", ", Extensions)}): the first bytes match no format");
        if (info.Width < 1 || info.Height < 1)
            throw new DataFileException(origin, $"corrupt {format.Name} header: it declares {info.Width}x{info.Height} pixels");
        return new ImageHeader(info.Width, info.Height, format.Name);
    }

    public RgbFrame Decode(string path) => Decode(ReadFile(path), path);

    /// <summary>Decodes encoded image bytes; <paramref name="origin"/> names them in errors.</summary>
    public RgbFrame Decode(byte[] encoded, string origin)
    {
        using var image = DecodeImage(encoded, origin);
        return RgbFrame.FromImage(image);
    }

    /// <summary>The checked, decoded ImageSharp image of a file (the caller disposes it).</summary>
    public Image<Rgb24> DecodeImage(string path) => DecodeImage(ReadFile(path), path);

    /// <summary>The checked, decoded ImageSharp image (for callers that want ImageSharp's own processing).</summary>
    public Image<Rgb24> DecodeImage(byte[] encoded, string origin)
    {
        var header = ReadHeader(encoded, origin);
        long pixels = (long)header.Width * header.Height;
        if (pixels > Limits.MaxPixels)
            throw new DataFileException(origin,
                $"{header.Format} header declares {header.Width}x{header.Height} = {pixels:N0} pixels, over the limit of {Limits.MaxPixels:N0}; not decoded");
        Image<Rgb24> image;
        try
        {
            image = Image.Load<Rgb24>(_configuration, encoded);
        }
        // Any failure inside a decoder fed hostile bytes means the same thing: this file cannot be used.
        catch (Exception error) when (error is not OutOfMemoryException and not OperationCanceledException)
        {
            throw new DataFileException(origin, $"corrupt {header.Format} data: {error.Message}", error);
        }
        if (image.Width != header.Width || image.Height != header.Height)
        {
            int width = image.Width, height = image.Height;
            image.Dispose();
            throw new DataFileException(origin, $"corrupt {header.Format}: the header declares {header.Width}x{header.Height} but {width}x{height} decoded");
        }
        return image;
    }

    byte[] ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = new FileInfo(path);
        if (!file.Exists) throw new DataFileException(path, "no such image file");
        if (file.Length == 0) throw new DataFileException(path, "empty file");
        if (file.Length > Limits.MaxFileBytes)
            throw new DataFileException(path, $"{file.Length:N0} bytes, over the image file limit of {Limits.MaxFileBytes:N0}; not decoded");
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, $"cannot read: {error.Message}", error);
        }
    }
}
