using Microsoft.ML;
using Recipes.Runtime.Vision;

namespace Recipes.Runtime.Pipelines;

/// <summary>
/// An <see cref="ImageSet"/> as an ML.NET data view with two columns: <c>Image</c> (the file path, or the
/// encoded bytes for in-memory images) and <c>Label</c> (the class name, text; map it to a key with
/// MapValueToKey).
/// </summary>
public static class ImageSetDataView
{
    public static IDataView Load(MLContext ml, ImageSet images)
    {
        int inMemory = images.Entries.Count(e => e.EncodedBytes is not null);
        string Label(ImageEntry e) => e.Label == ImageEntry.Unlabelled ? "" : images.ClassNames[e.Label];
        if (inMemory == 0)
            return ml.Data.LoadFromEnumerable(images.Entries.Select(e => new PathRow { Image = e.Origin, Label = Label(e) }).ToList());
        if (inMemory == images.Count)
            return ml.Data.LoadFromEnumerable(images.Entries.Select(e => new BytesRow { Image = e.EncodedBytes!, Label = Label(e) }).ToList());
        throw new ArgumentException("the image set mixes files and in-memory images; a data view column holds one kind");
    }

    sealed class PathRow
    {
        public string Image { get; set; } = "";
        public string Label { get; set; } = "";
    }

    sealed class BytesRow
    {
        public byte[] Image { get; set; } = [];
        public string Label { get; set; } = "";
    }
}
