using System.IO.Compression;
using Recipes.Runtime.Data;

namespace Recipes.NcfRecommendation;

/// <summary>A MovieLens release as read: its ratings, its movies (empty when it has no movie list), its layout,
/// and where the ratings were read from.</summary>
public sealed record MovieLensContent(MovieLensFormat Format, IReadOnlyList<MovieRating> Ratings, IReadOnlyList<Movie> Movies, string RatingsSource);

/// <summary>
/// Finds and reads a MovieLens release given as a folder (the files in it or one folder below, as the zips
/// unpack), as the ratings file itself, or as the official .zip read in place without unpacking it.
/// The layout is recognised by the ratings file's name: <c>ratings.dat</c>, <c>u.data</c> or <c>ratings.csv</c>.
/// </summary>
public static class MovieLensFiles
{
    static readonly MovieLensFormat[] Formats = [MovieLensFormat.DoubleColon, MovieLensFormat.HundredThousand, MovieLensFormat.Csv];

    public static string ExpectedFilesDescription =>
        "expected ratings.dat (ML-1M), u.data (ML-100K) or ratings.csv (ml-latest) in the folder, one folder below it, or in a MovieLens .zip";

    public static MovieLensContent Read(string path)
    {
        string full = Path.GetFullPath(path);
        if (File.Exists(full) && full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) return ReadZip(full);
        if (File.Exists(full))
        {
            var format = Formats.Cast<MovieLensFormat?>().FirstOrDefault(f => MovieLensReader.RatingsFileName(f!.Value) == Path.GetFileName(full))
                         ?? throw new DataFileException(full, $"not a MovieLens ratings file ({ExpectedFilesDescription})");
            return ReadFolder(Path.GetDirectoryName(full)!, format, full);
        }
        if (!Directory.Exists(full)) throw new DataFileException(full, "no such file or folder");
        foreach (string folder in new[] { full }.Concat(Directory.GetDirectories(full).Order(StringComparer.Ordinal)))
            foreach (var format in Formats)
            {
                string ratings = Path.Combine(folder, MovieLensReader.RatingsFileName(format));
                if (File.Exists(ratings)) return ReadFolder(folder, format, ratings);
            }
        throw new DataFileException(full, $"no MovieLens ratings here ({ExpectedFilesDescription})");
    }

    static MovieLensContent ReadFolder(string folder, MovieLensFormat format, string ratingsPath)
    {
        var ratings = MovieLensReader.ReadRatings(ratingsPath, format);
        string moviesPath = Path.Combine(folder, MovieLensReader.MoviesFileName(format));
        var movies = File.Exists(moviesPath) ? MovieLensReader.ReadMovies(moviesPath, format) : [];
        return new MovieLensContent(format, ratings, movies, ratingsPath);
    }

    static MovieLensContent ReadZip(string zipPath)
    {
        try
        {
            using var archive = ZipFile.OpenRead(zipPath);
            foreach (var format in Formats)
            {
                var ratingsEntry = Shallowest(archive, MovieLensReader.RatingsFileName(format));
                if (ratingsEntry is null) continue;
                string ratingsSource = $"{zipPath}/{ratingsEntry.FullName}";
                IReadOnlyList<MovieRating> ratings;
                using (var reader = new StreamReader(ratingsEntry.Open(), MovieLensReader.EncodingOf(format), detectEncodingFromByteOrderMarks: false))
                    ratings = MovieLensReader.ReadRatings(reader, ratingsSource, format);
                IReadOnlyList<Movie> movies = [];
                if (Shallowest(archive, MovieLensReader.MoviesFileName(format)) is { } moviesEntry)
                {
                    using var reader = new StreamReader(moviesEntry.Open(), MovieLensReader.EncodingOf(format), detectEncodingFromByteOrderMarks: false);
                    movies = MovieLensReader.ReadMovies(reader, $"{zipPath}/{moviesEntry.FullName}", format);
                }
                return new MovieLensContent(format, ratings, movies, ratingsSource);
            }
        }
        catch (InvalidDataException error)
        {
            // Not a zip, truncated, or an entry whose CRC does not match.
            throw new DataFileException(zipPath, $"not a readable zip archive ({error.Message})", error);
        }
        throw new DataFileException(zipPath, $"no MovieLens ratings in this archive ({ExpectedFilesDescription})");
    }

    static ZipArchiveEntry? Shallowest(ZipArchive archive, string fileName) =>
        archive.Entries.Where(entry => entry.Name == fileName)
                       .OrderBy(entry => entry.FullName.Count(c => c == '/'))
                       .ThenBy(entry => entry.FullName, StringComparer.Ordinal)
                       .FirstOrDefault();
}
