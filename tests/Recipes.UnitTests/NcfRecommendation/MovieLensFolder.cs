using System.IO.Compression;
using System.Text;

namespace Recipes.Tests.NcfRecommendation;

/// <summary>A temporary folder to write small MovieLens files into, deleted on dispose.</summary>
sealed class MovieLensFolder : IDisposable
{
    public MovieLensFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"recipes-movielens-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    /// <summary>Writes <paramref name="text"/> in <paramref name="encoding"/> (Latin-1 unless told) under a relative path.</summary>
    public string Write(string relativePath, string text, Encoding? encoding = null)
    {
        string path = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, (encoding ?? Encoding.Latin1).GetBytes(text));
        return path;
    }

    /// <summary>Zips the files written under <paramref name="relativeFolder"/> as the GroupLens zips are laid out.</summary>
    public string Zip(string relativeFolder, string zipName)
    {
        string zip = System.IO.Path.Combine(Path, zipName);
        ZipFile.CreateFromDirectory(System.IO.Path.Combine(Path, relativeFolder), zip, CompressionLevel.Fastest, includeBaseDirectory: true);
        return zip;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
