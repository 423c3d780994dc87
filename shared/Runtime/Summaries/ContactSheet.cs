using Recipes.Runtime.IO;
using SkiaSharp;

namespace Recipes.Runtime.Summaries;

/// <summary>A colour image (packed RGB bytes, row-major) with a title and a second caption line.</summary>
public sealed record ContactSheetTile(byte[] Rgb, int Width, int Height, string Title, string Caption = "");

/// <summary>A titled group of tiles; each section starts on a new row.</summary>
public sealed record ContactSheetSection(string Heading, IReadOnlyList<ContactSheetTile> Tiles);

/// <summary>
/// Colour images of different sizes on one PNG, all drawn at the same scale so their sizes compare at a glance
/// (a 200 x 200 crop looks smaller than the 500 x 375 original, a 2x expand larger), each framed and captioned
/// with two lines. Without any installed font the images and frames are drawn and the text is left out.
/// </summary>
public static class ContactSheet
{
    public const int Padding = 12;
    public const int CaptionHeight = 38;
    public const int HeadingHeight = 30;
    const float TitleSize = 14;
    const float CaptionSize = 12;
    const float HeadingSize = 17;
    const float SmallestTextSize = 8;

    static readonly SKColor Page = SKColors.White;
    static readonly SKColor CellBackground = new(0xEE, 0xEE, 0xEE);
    static readonly SKColor FrameColour = new(0x99, 0x99, 0x99);
    static readonly SKColor TitleColour = new(0x20, 0x20, 0x20);
    static readonly SKColor CaptionColour = new(0x55, 0x55, 0x55);

    /// <param name="scale">Output pixels per image pixel, the same for every tile.</param>
    public static void WritePng(string pngPath, IReadOnlyList<ContactSheetSection> sections, int columns, float scale)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pngPath);
        AtomicFile.WriteAllBytes(pngPath, RenderPng(sections, columns, scale));
    }

    /// <summary>
    /// Every cell is as large as the largest scaled tile; cells are laid out <paramref name="columns"/> to a row,
    /// at x = <see cref="Padding"/> + column x (cell width + <see cref="Padding"/>), each tile centred in its cell.
    /// </summary>
    public static byte[] RenderPng(IReadOnlyList<ContactSheetSection> sections, int columns, float scale)
    {
        ArgumentNullException.ThrowIfNull(sections);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (!(scale > 0 && scale <= 16)) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be in (0, 16]");
        var tiles = sections.SelectMany(section => section.Tiles).ToList();
        if (tiles.Count == 0) throw new ArgumentException("the contact sheet needs at least one tile", nameof(sections));
        foreach (var tile in tiles) Validate(tile);

        int cellWidth = (int)Math.Ceiling(tiles.Max(tile => tile.Width) * scale);
        int cellHeight = (int)Math.Ceiling(tiles.Max(tile => tile.Height) * scale);
        int rowHeight = cellHeight + CaptionHeight + Padding;
        int width = Padding + columns * (cellWidth + Padding);
        int height = Padding + sections.Sum(section => HeadingHeight + (section.Tiles.Count + columns - 1) / columns * rowHeight);

        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info) ?? throw new InvalidOperationException($"Skia could not create a {width}x{height} drawing surface.");
        var canvas = surface.Canvas;
        canvas.Clear(Page);
        float top = Padding;
        foreach (var section in sections)
        {
            DrawText(canvas, section.Heading, Padding, top + HeadingHeight * 0.7f, HeadingSize, TitleColour, width - 2 * Padding, SKTextAlign.Left, bold: true);
            top += HeadingHeight;
            for (int i = 0; i < section.Tiles.Count; i++)
            {
                float cellLeft = Padding + i % columns * (cellWidth + Padding);
                float cellTop = top + i / columns * rowHeight;
                DrawTile(canvas, section.Tiles[i], SKRect.Create(cellLeft, cellTop, cellWidth, cellHeight), scale);
            }
            top += (section.Tiles.Count + columns - 1) / columns * rowHeight;
        }
        using var snapshot = surface.Snapshot();
        using var png = snapshot.Encode(SKEncodedImageFormat.Png, 100) ?? throw new InvalidOperationException("Skia could not encode the contact sheet as PNG.");
        return png.ToArray();
    }

    static void Validate(ContactSheetTile tile)
    {
        ArgumentNullException.ThrowIfNull(tile);
        if (tile.Width < 1 || tile.Height < 1) throw new ArgumentException($"tile \"{tile.Title}\" has size {tile.Width}x{tile.Height}");
        if (tile.Rgb is null || tile.Rgb.LongLength != (long)tile.Width * tile.Height * 3)
            throw new ArgumentException($"tile \"{tile.Title}\" is {tile.Width}x{tile.Height} and needs {(long)tile.Width * tile.Height * 3} RGB bytes, not {tile.Rgb?.LongLength ?? 0}");
    }

    static void DrawTile(SKCanvas canvas, ContactSheetTile tile, SKRect cell, float scale)
    {
        using (var background = new SKPaint { Color = CellBackground })
            canvas.DrawRect(cell, background);
        float drawnWidth = tile.Width * scale, drawnHeight = tile.Height * scale;
        var target = SKRect.Create(cell.Left + (cell.Width - drawnWidth) / 2, cell.Top + (cell.Height - drawnHeight) / 2, drawnWidth, drawnHeight);
        using (var image = ToSkiaImage(tile))
            canvas.DrawImage(image, target, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using (var frame = new SKPaint { Color = FrameColour, Style = SKPaintStyle.Stroke, StrokeWidth = 1 })
        {
            var outline = target;
            outline.Inflate(0.5f, 0.5f);
            canvas.DrawRect(outline, frame);
        }
        float centre = cell.MidX;
        DrawText(canvas, tile.Title, centre, cell.Bottom + 16, TitleSize, TitleColour, cell.Width + Padding - 2, SKTextAlign.Center, bold: true);
        DrawText(canvas, tile.Caption, centre, cell.Bottom + 32, CaptionSize, CaptionColour, cell.Width + Padding - 2, SKTextAlign.Center, bold: false);
    }

    static SKImage ToSkiaImage(ContactSheetTile tile)
    {
        byte[] rgba = new byte[tile.Width * tile.Height * 4];
        for (int p = 0, i = 0; p < rgba.Length; p += 4, i += 3)
        {
            rgba[p] = tile.Rgb[i];
            rgba[p + 1] = tile.Rgb[i + 1];
            rgba[p + 2] = tile.Rgb[i + 2];
            rgba[p + 3] = 255;
        }
        return SKImage.FromPixelCopy(new SKImageInfo(tile.Width, tile.Height, SKColorType.Rgba8888, SKAlphaType.Opaque), rgba)
            ?? throw new InvalidOperationException($"Skia could not take the {tile.Width}x{tile.Height} image of \"{tile.Title}\".");
    }

    static void DrawText(SKCanvas canvas, string text, float x, float baseline, float size, SKColor colour, float availableWidth, SKTextAlign align, bool bold)
    {
        if (string.IsNullOrEmpty(text) || (bold ? SansSerifFont.Bold : SansSerifFont.Typeface) is not SKTypeface typeface) return;
        using var font = new SKFont(typeface, size) { Edging = SKFontEdging.Antialias };
        // Long captions shrink to their cell rather than run into the neighbour's.
        float measured = font.MeasureText(text);
        if (measured > availableWidth) font.Size = Math.Max(SmallestTextSize, size * availableWidth / measured);
        using var paint = new SKPaint { Color = colour, IsAntialias = true };
        canvas.DrawText(text, x, baseline, align, font, paint);
    }
}
