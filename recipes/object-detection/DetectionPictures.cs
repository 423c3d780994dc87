using System.Globalization;
using Recipes.Runtime.Data;
using Recipes.Runtime.Summaries;
using Recipes.Runtime.Vision;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SkiaSharp;

namespace Recipes.ObjectDetection;

/// <summary>
/// Draws detections (and optionally ground truth) on images, like the seed notebook's boxes on video frames.
/// Each box is a band in its class's colour between a one-pixel dark line outside and a one-pixel light line
/// inside, so it stays visible on dark and light backgrounds alike; its label ("dog 0.87") sits on a tag in the
/// class colour whose text is black or white, whichever contrasts more. Line width and font grow with the
/// image, so a 300-pixel image and a 2000-pixel photograph look alike once scaled to the same size on screen.
/// Ground truth is drawn dashed with its label below the box, so both can share one picture.
/// Without any installed font, boxes are drawn and labels left out.
/// </summary>
public static class DetectionPictures
{
    /// <summary>Each image in the strip of <see cref="WriteStrip"/> is resized to fit this box (landscape photos
    /// fill its width, portrait ones its height), so labels come out the same size on all of them.</summary>
    public const int StripImageWidth = 400, StripImageHeight = 300;

    // Twenty colours chosen to be far apart from each other (Trubetskoy's list): one per VOC class. Bright
    // and dark ones alternate so neighbouring class indices never look alike.
    static readonly Rgb24[] Palette =
    [
        new(230, 25, 75), new(60, 180, 75), new(255, 225, 25), new(0, 130, 200), new(245, 130, 48),
        new(145, 30, 180), new(70, 240, 240), new(240, 50, 230), new(210, 245, 60), new(250, 190, 212),
        new(0, 128, 128), new(220, 190, 255), new(170, 110, 40), new(255, 250, 200), new(128, 0, 0),
        new(170, 255, 195), new(128, 128, 0), new(255, 215, 180), new(0, 0, 128), new(128, 128, 128),
    ];

    static readonly SKColor OuterLine = new(0, 0, 0, 170);
    static readonly SKColor InnerLine = new(255, 255, 255, 150);

    /// <summary>The colour of a class: the palette's for the first twenty, then hues spaced by the golden
    /// angle (so any number of classes get distinct colours, and the same class always the same one).</summary>
    public static Rgb24 ClassColour(int classIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(classIndex);
        if (classIndex < Palette.Length) return Palette[classIndex];
        float hue = (float)((classIndex - Palette.Length) * 137.50776 % 360);
        var colour = SKColor.FromHsv(hue, 75, 90);
        return new Rgb24(colour.Red, colour.Green, colour.Blue);
    }

    /// <summary>Black or white, whichever contrasts more with <paramref name="background"/> by WCAG's contrast ratio
    /// (relative luminance of linearised sRGB); the two are equal at a luminance of about 0.18.</summary>
    public static Rgb24 TextColourOn(Rgb24 background)
    {
        double luminance = 0.2126 * Linear(background.R) + 0.7152 * Linear(background.G) + 0.0722 * Linear(background.B);
        double againstBlack = (luminance + 0.05) / 0.05, againstWhite = 1.05 / (luminance + 0.05);
        return againstBlack >= againstWhite ? new Rgb24(0, 0, 0) : new Rgb24(255, 255, 255);

        static double Linear(byte value)
        {
            double c = value / 255.0;
            return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
        }
    }

    /// <summary>Width in pixels of a box's colour band: the short side / 150, rounded, at least 2 (3 for a VOC photo
    /// of 500 x 375, 2 for a 300-pixel image).</summary>
    public static int LineWidth(int width, int height) => Math.Max(2, (int)Math.Round(Math.Min(width, height) / 150.0, MidpointRounding.AwayFromZero));

    /// <summary>Label font size in pixels: 4% of the short side, at least 11 (legible) and at most 48.</summary>
    public static float FontSize(int width, int height) => Math.Clamp(Math.Min(width, height) * 0.04f, 11f, 48f);

    /// <summary>
    /// A copy of <paramref name="image"/> with every detection scoring at least <paramref name="threshold"/> drawn
    /// (lowest score first, so the most confident box ends on top; all labels over all boxes), and the
    /// <paramref name="groundTruth"/> objects dashed beneath them. Boxes reaching outside the image are clipped to it.
    /// </summary>
    public static Image<Rgb24> Draw(Image<Rgb24> image, IReadOnlyList<Detection> detections, IReadOnlyList<string> classNames,
        double threshold, IReadOnlyList<AnnotatedObject>? groundTruth = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(detections);
        ArgumentNullException.ThrowIfNull(classNames);
        if (!double.IsFinite(threshold)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the score threshold must be a finite number");
        var truth = groundTruth ?? [];
        foreach (var detection in detections) CheckClass(detection.ClassIndex, classNames, "detection");
        foreach (var annotated in truth) CheckClass(annotated.ClassIndex, classNames, "ground-truth object");

        int width = image.Width, height = image.Height;
        using var bitmap = ToBitmap(image);
        using (var canvas = new SKCanvas(bitmap))
        {
            var style = new PictureStyle(LineWidth(width, height), FontSize(width, height), width, height);
            var shown = detections.Where(detection => detection.Score >= threshold).OrderBy(detection => detection.Score).ToList();
            foreach (var annotated in truth) DrawBox(canvas, annotated.Box, ClassColour(annotated.ClassIndex), style, dashed: true);
            foreach (var detection in shown) DrawBox(canvas, detection.Box, ClassColour(detection.ClassIndex), style, dashed: false);
            // Tags are placed most confident first (they get the best spots), then drawn in reverse, so where two
            // still overlap the more confident one is on top; ground-truth tags take what room is left.
            using var font = SansSerifFont.Bold is SKTypeface typeface
                ? new SKFont(typeface, style.FontSize) { Edging = SKFontEdging.Antialias, Subpixel = true }
                : null;
            var placed = new List<SKRect>();
            var detectionTags = shown.AsEnumerable().Reverse()
                .Select(d => PlaceTag(d.Box, ScoreLabel(d, classNames), ClassColour(d.ClassIndex), style, truth: false, font, placed)).ToList();
            var truthTags = truth.Select(o => PlaceTag(o.Box, TruthLabel(o, classNames), ClassColour(o.ClassIndex), style, truth: true, font, placed)).ToList();
            foreach (var tag in truthTags) if (tag is not null) DrawTag(canvas, tag);
            foreach (var tag in detectionTags.AsEnumerable().Reverse()) if (tag is not null) DrawTag(canvas, tag);
        }
        return ToImage(bitmap);
    }

    /// <summary>"dog 0.87": the class and the score to two decimals (invariant culture: a point, never a comma).</summary>
    public static string ScoreLabel(Detection detection, IReadOnlyList<string> classNames) =>
        $"{classNames[detection.ClassIndex]} {detection.Score.ToString("0.00", CultureInfo.InvariantCulture)}";

    static string TruthLabel(AnnotatedObject annotated, IReadOnlyList<string> classNames) =>
        annotated.Difficult ? $"{classNames[annotated.ClassIndex]} (difficult)" : classNames[annotated.ClassIndex];

    static void CheckClass(int classIndex, IReadOnlyList<string> classNames, string what)
    {
        if (classIndex < 0 || classIndex >= classNames.Count)
            throw new ArgumentException($"a {what} has class index {classIndex}, outside the {classNames.Count} class names");
    }

    /// <summary>
    /// Writes a PNG of <paramref name="images"/>, each twice side by side: the detections scoring at least
    /// <paramref name="threshold"/> on the left, the ground truth on the right, each captioned with its counts.
    /// Every image is first resized to fit <see cref="StripImageWidth"/> x <see cref="StripImageHeight"/>, so labels
    /// are equally legible on all of them. An image that cannot be decoded is left out (the strip is a by-product of
    /// a finished run and must not fail it); returns how many images the strip shows.
    /// </summary>
    public static int WriteStrip(string path, IReadOnlyList<(string ImagePath, IReadOnlyList<Detection> Predicted, IReadOnlyList<AnnotatedObject> Truth)> images,
        IReadOnlyList<string> classNames, double threshold, string title)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(classNames);
        var tiles = new List<ContactSheetTile>();
        foreach (var (imagePath, predicted, truth) in images)
        {
            Image<Rgb24> original;
            try
            {
                original = SafeImageDecoder.Default.DecodeImage(imagePath);
            }
            catch (DataFileException)
            {
                continue;
            }
            using (original)
            {
                double scale = Math.Min((double)StripImageWidth / original.Width, (double)StripImageHeight / original.Height);
                int width = Math.Max(1, (int)Math.Round(original.Width * scale)), height = Math.Max(1, (int)Math.Round(original.Height * scale));
                // The boxes follow the resize: x' = x * (new width / old width), likewise for y.
                var mapping = PixelMapping.Scale((double)width / original.Width, (double)height / original.Height);
                original.Mutate(context => context.Resize(width, height));
                var scaledPredicted = predicted.Select(d => d with { Box = mapping.Map(d.Box) }).ToList();
                var scaledTruth = truth.Select(o => o with { Box = mapping.Map(o.Box) }).ToList();
                string name = Path.GetFileName(imagePath);
                int shown = predicted.Count(d => d.Score >= threshold);
                int difficult = truth.Count(o => o.Difficult);
                using (var left = Draw(original, scaledPredicted, classNames, threshold))
                    tiles.Add(new ContactSheetTile(RgbBytes(left), width, height, $"{name}: predicted",
                        $"{shown} detection{(shown == 1 ? "" : "s")} scoring {threshold.ToString("0.00", CultureInfo.InvariantCulture)} or more"));
                using (var right = Draw(original, [], classNames, threshold, scaledTruth))
                    tiles.Add(new ContactSheetTile(RgbBytes(right), width, height, $"{name}: ground truth",
                        $"{truth.Count} object{(truth.Count == 1 ? "" : "s")}{(difficult > 0 ? $" ({difficult} difficult)" : "")}"));
            }
        }
        if (tiles.Count == 0) throw new ArgumentException("none of the images for the strip could be decoded", nameof(images));
        ContactSheet.WritePng(path, [new ContactSheetSection(title, tiles)], columns: 2, scale: 1f);
        return tiles.Count / 2;
    }

    sealed record PictureStyle(int LineWidth, float FontSize, int Width, int Height);

    /// <summary>The box on the pixel grid: edge coordinates rounded, so a box 10..20 covers pixels 10 to 19.</summary>
    static SKRectI PixelRect(PixelBox box) => new(
        (int)Math.Round(box.Left, MidpointRounding.AwayFromZero), (int)Math.Round(box.Top, MidpointRounding.AwayFromZero),
        (int)Math.Round(box.Right, MidpointRounding.AwayFromZero), (int)Math.Round(box.Bottom, MidpointRounding.AwayFromZero));

    static bool Drawable(PixelBox box) =>
        double.IsFinite(box.Left) && double.IsFinite(box.Top) && double.IsFinite(box.Right) && double.IsFinite(box.Bottom)
        // Far outside coordinates would overflow int; anything beyond a million pixels is off any image anyway.
        && Math.Abs(box.Left) < 1e6 && Math.Abs(box.Top) < 1e6 && Math.Abs(box.Right) < 1e6 && Math.Abs(box.Bottom) < 1e6;

    static void DrawBox(SKCanvas canvas, PixelBox box, Rgb24 colour, PictureStyle style, bool dashed)
    {
        if (!Drawable(box)) return;
        var rect = PixelRect(box);
        if (rect.Width < 1 || rect.Height < 1) return;
        int line = Math.Min(style.LineWidth, Math.Max(1, Math.Min(rect.Width, rect.Height) / 2));
        var classColour = new SKColor(colour.R, colour.G, colour.B);
        if (!dashed)
        {
            // Filled bands rather than strokes: exact pixels, no anti-aliasing smear, identical on every machine.
            FillFrame(canvas, Inflate(rect, 1), 1, OuterLine);
            FillFrame(canvas, rect, line, classColour);
            if (rect.Width > 2 * line && rect.Height > 2 * line) FillFrame(canvas, Inflate(rect, -line), 1, InnerLine);
            return;
        }
        // Dashed: the same dark halo under each dash, the stroke centred half a line inside the box edge.
        float inset = line / 2f;
        var strokeRect = new SKRect(rect.Left + inset, rect.Top + inset, rect.Right - inset, rect.Bottom - inset);
        float dash = 3f * line, gap = 2f * line;
        using var halo = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = line + 2, Color = OuterLine, IsAntialias = false };
        using var haloDashes = SKPathEffect.CreateDash([dash, gap], 0);
        halo.PathEffect = haloDashes;
        canvas.DrawRect(strokeRect, halo);
        using var paint = new SKPaint { Style = SKPaintStyle.Stroke, StrokeWidth = line, Color = classColour, IsAntialias = false };
        using var dashes = SKPathEffect.CreateDash([dash, gap], 0);
        paint.PathEffect = dashes;
        canvas.DrawRect(strokeRect, paint);
    }

    static SKRectI Inflate(SKRectI rect, int by) => new(rect.Left - by, rect.Top - by, rect.Right + by, rect.Bottom + by);

    /// <summary>Fills the band of <paramref name="thickness"/> pixels just inside <paramref name="rect"/>'s edges.</summary>
    static void FillFrame(SKCanvas canvas, SKRectI rect, int thickness, SKColor colour)
    {
        using var paint = new SKPaint { Color = colour, Style = SKPaintStyle.Fill, IsAntialias = false };
        canvas.DrawRect(new SKRect(rect.Left, rect.Top, rect.Right, rect.Top + thickness), paint);
        canvas.DrawRect(new SKRect(rect.Left, rect.Bottom - thickness, rect.Right, rect.Bottom), paint);
        canvas.DrawRect(new SKRect(rect.Left, rect.Top + thickness, rect.Left + thickness, rect.Bottom - thickness), paint);
        canvas.DrawRect(new SKRect(rect.Right - thickness, rect.Top + thickness, rect.Right, rect.Bottom - thickness), paint);
    }

    sealed record Tag(SKRect Area, string Text, Rgb24 Colour, float Baseline, float PadX, SKFont Font);

    /// <summary>
    /// Where a label goes: the first of (for a detection) above the box's top-left corner, just inside its top,
    /// below its bottom, just inside its bottom (ground truth tries the bottom first) that lies within the image
    /// and overlaps no tag placed before; when every one overlaps, the first that lies within the image. Shifted
    /// left when it would run off the right edge. Null when the box is off the image or there is no font.
    /// </summary>
    static Tag? PlaceTag(PixelBox box, string text, Rgb24 colour, PictureStyle style, bool truth, SKFont? font, List<SKRect> placed)
    {
        if (font is null || !Drawable(box)) return null;
        var rect = PixelRect(box);
        if (rect.Width < 1 || rect.Height < 1) return null;
        if (rect.Right <= 0 || rect.Bottom <= 0 || rect.Left >= style.Width || rect.Top >= style.Height) return null;
        float capHeight = font.Metrics.CapHeight > 0 ? font.Metrics.CapHeight : style.FontSize * 0.72f;
        float padX = MathF.Round(style.FontSize * 0.35f);
        int tagHeight = (int)MathF.Ceiling(capHeight + 2 * MathF.Round(style.FontSize * 0.3f));
        int tagWidth = (int)MathF.Ceiling(font.MeasureText(text) + 2 * padX);

        int visibleTop = Math.Max(rect.Top, 0), visibleBottom = Math.Min(rect.Bottom, style.Height);
        int left = Math.Max(0, Math.Min(Math.Max(rect.Left, 0), style.Width - tagWidth));
        int[] tops = truth
            ? [visibleBottom, visibleBottom - tagHeight, visibleTop - tagHeight, visibleTop]
            : [visibleTop - tagHeight, visibleTop, visibleBottom, visibleBottom - tagHeight];
        var fitting = tops.Where(top => top >= 0 && top + tagHeight <= style.Height)
            .Select(top => new SKRect(left, top, left + tagWidth, top + tagHeight)).ToList();
        // An image shorter than a tag: put it at the top and let it be clipped.
        if (fitting.Count == 0) fitting.Add(new SKRect(left, 0, left + tagWidth, tagHeight));
        var area = fitting.FirstOrDefault(candidate => !placed.Any(other => other.IntersectsWith(candidate)), fitting[0]);
        placed.Add(area);
        return new Tag(area, text, colour, area.Top + (tagHeight + capHeight) / 2f, padX, font);
    }

    /// <summary>The tag filled in its class colour inside a one-pixel dark line (so light tags show on light
    /// backgrounds), its text in black or white, whichever contrasts more.</summary>
    static void DrawTag(SKCanvas canvas, Tag tag)
    {
        var area = tag.Area;
        FillFrame(canvas, new SKRectI((int)area.Left - 1, (int)area.Top - 1, (int)area.Right + 1, (int)area.Bottom + 1), 1, OuterLine);
        using (var fill = new SKPaint { Color = new SKColor(tag.Colour.R, tag.Colour.G, tag.Colour.B), Style = SKPaintStyle.Fill, IsAntialias = false })
            canvas.DrawRect(area, fill);
        var textColour = TextColourOn(tag.Colour);
        using var ink = new SKPaint { Color = new SKColor(textColour.R, textColour.G, textColour.B), IsAntialias = true };
        canvas.Save();
        canvas.ClipRect(area);
        canvas.DrawText(tag.Text, area.Left + tag.PadX, tag.Baseline, SKTextAlign.Left, tag.Font, ink);
        canvas.Restore();
    }

    static SKBitmap ToBitmap(Image<Rgb24> image)
    {
        int width = image.Width, height = image.Height;
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        byte[] rgba = new byte[width * height * 4];
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0, p = y * width * 4; x < width; x++, p += 4)
                {
                    rgba[p] = row[x].R;
                    rgba[p + 1] = row[x].G;
                    rgba[p + 2] = row[x].B;
                    rgba[p + 3] = 255;
                }
            }
        });
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    static Image<Rgb24> ToImage(SKBitmap bitmap)
    {
        int width = bitmap.Width, height = bitmap.Height;
        byte[] bytes = bitmap.Bytes;
        int stride = bitmap.RowBytes;
        var image = new Image<Rgb24>(width, height);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < height; y++)
            {
                var row = rows.GetRowSpan(y);
                var source = bytes.AsSpan(y * stride, width * 4);
                for (int x = 0; x < width; x++) row[x] = new Rgb24(source[4 * x], source[4 * x + 1], source[4 * x + 2]);
            }
        });
        return image;
    }

    /// <summary>Packed RGB bytes, row-major, as <see cref="ContactSheetTile"/> takes them.</summary>
    internal static byte[] RgbBytes(Image<Rgb24> image)
    {
        byte[] rgb = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(rgb);
        return rgb;
    }
}
