using System.CommandLine;

namespace Recipes.ImageAugmentation;

/// <summary>The recipe's own settings, after parsing.</summary>
public sealed record ImageAugmentationSettings(string? ImagePath, string? FolderPath, int Repeats);

/// <summary>The options this recipe adds to the common ones.</summary>
public sealed class ImageAugmentationOptions
{
    public ImageAugmentationOptions(RootCommand root)
    {
        Image = new Option<string?>("--image") { Description = "A picture to augment (JPEG, PNG, BMP, GIF or WebP)" };
        Folder = new Option<string?>("--folder") { Description = "A folder of pictures (searched recursively): the first is augmented, all go through the batch loader" };
        Repeats = new Option<int>("--repeats") { Description = "How many times the random training chain is applied to the picture", DefaultValueFactory = _ => 8 };
        root.Options.Add(Image);
        root.Options.Add(Folder);
        root.Options.Add(Repeats);
    }

    public Option<string?> Image { get; }
    public Option<string?> Folder { get; }
    public Option<int> Repeats { get; }

    public ImageAugmentationSettings Read(ParseResult parsed)
    {
        int repeats = parsed.GetValue(Repeats);
        if (repeats is < 1 or > 64) throw new ArgumentException("--repeats must be between 1 and 64");
        return new ImageAugmentationSettings(parsed.GetValue(Image), parsed.GetValue(Folder), repeats);
    }
}
