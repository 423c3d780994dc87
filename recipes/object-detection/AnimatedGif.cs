using Recipes.Runtime.IO;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Quantization;

namespace Recipes.ObjectDetection;

/// <summary>
/// Writes frames as an animated GIF, the seed's "boxes on a video" in a file any browser plays. Frames of different
/// sizes are centred on a canvas as large as the largest of them (widest width, tallest height) over a neutral grey,
/// never scaled, so boxes keep their pixels. Each frame gets its own 256-colour palette (one palette for a whole
/// video would wash out every frame that differs from the first).
/// </summary>
public static class AnimatedGif
{
    /// <summary>The letterbox colour around frames smaller than the canvas.</summary>
    public static Rgb24 Background { get; } = new(64, 64, 64);

    /// <summary>GIF stores delays in hundredths of a second, at most 65535 of them.</summary>
    public static readonly TimeSpan LongestDelay = TimeSpan.FromMilliseconds(655_350);

    /// <summary>
    /// Writes <paramref name="frames"/> to <paramref name="path"/> (atomically: a reader never sees half a file),
    /// each shown for <paramref name="frameDelay"/> rounded to hundredths of a second (at least one), repeating
    /// forever when <paramref name="loop"/> is true and playing once otherwise. The frames are not disposed.
    /// </summary>
    public static void Write(string path, IReadOnlyList<Image<Rgb24>> frames, TimeSpan frameDelay, bool loop = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new ArgumentException("an animated GIF needs at least one frame", nameof(frames));
        if (frameDelay <= TimeSpan.Zero || frameDelay > LongestDelay)
            throw new ArgumentOutOfRangeException(nameof(frameDelay), frameDelay, $"the frame delay must be positive and at most {LongestDelay.TotalSeconds} s");
        for (int i = 0; i < frames.Count; i++) ArgumentNullException.ThrowIfNull(frames[i], $"frames[{i}]");

        int width = frames.Max(frame => frame.Width), height = frames.Max(frame => frame.Height);
        int hundredths = Math.Clamp((int)Math.Round(frameDelay.TotalMilliseconds / 10, MidpointRounding.AwayFromZero), 1, ushort.MaxValue);

        using var gif = Letterbox(frames[0], width, height);
        for (int i = 1; i < frames.Count; i++)
        {
            using var canvas = Letterbox(frames[i], width, height);
            gif.Frames.AddFrame(canvas.Frames.RootFrame);
        }
        foreach (var frame in gif.Frames)
        {
            var metadata = frame.Metadata.GetGifMetadata();
            metadata.FrameDelay = hundredths;
            // Each frame replaces the whole canvas: nothing of the previous frame may show through.
            metadata.DisposalMethod = GifDisposalMethod.RestoreToBackground;
        }
        // NETSCAPE looping: 0 repeats forever; 1 is "play once", which the encoder writes as no loop extension.
        gif.Metadata.GetGifMetadata().RepeatCount = loop ? (ushort)0 : (ushort)1;
        var encoder = new GifEncoder
        {
            ColorTableMode = GifColorTableMode.Local,
            Quantizer = new WuQuantizer(),
        };
        AtomicFile.Write(path, stream => gif.SaveAsGif(stream, encoder));
    }

    static Image<Rgb24> Letterbox(Image<Rgb24> frame, int width, int height)
    {
        if (frame.Width == width && frame.Height == height) return frame.Clone();
        var canvas = new Image<Rgb24>(width, height, Background);
        var at = new Point((width - frame.Width) / 2, (height - frame.Height) / 2);
        canvas.Mutate(context => context.DrawImage(frame, at, 1f));
        return canvas;
    }
}
