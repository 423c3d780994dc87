using SkiaSharp;

namespace Recipes.Runtime.Summaries;

/// <summary>
/// Finds a sans-serif font for chart and caption text. Skia's default face here is often a serif one, and a
/// bare machine may have no fonts at all: then <see cref="FamilyName"/> and <see cref="Typeface"/> are null
/// and callers draw without text rather than fail.
/// </summary>
public static class SansSerifFont
{
    static readonly string[] PreferredFamilies = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "Arial", "Helvetica", "FreeSans"];

    static readonly Lazy<SKTypeface?> Found = new(FindTypeface);

    public static SKTypeface? Typeface => Found.Value;

    static readonly Lazy<SKTypeface?> FoundBold = new(() =>
        Found.Value is SKTypeface regular ? SKFontManager.Default.MatchFamily(regular.FamilyName, SKFontStyle.Bold) ?? regular : null);

    public static string? FamilyName => Found.Value?.FamilyName;

    /// <summary>The bold face of the same family, or the regular face when there is no bold one.</summary>
    public static SKTypeface? Bold => FoundBold.Value;

    static SKTypeface? FindTypeface()
    {
        var fonts = SKFontManager.Default;
        foreach (string family in PreferredFamilies)
        {
            var typeface = fonts.MatchFamily(family, SKFontStyle.Normal);
            if (typeface is not null && typeface.GlyphCount > 0) return typeface;
            typeface?.Dispose();
        }
        // No preferred family: any installed face with glyphs beats no text at all.
        var fallback = SKTypeface.Default;
        return fallback.GlyphCount > 0 ? fallback : null;
    }
}
