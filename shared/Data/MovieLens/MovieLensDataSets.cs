using Recipes.Runtime.Data.Download;
using Recipes.Runtime.Data.Recommendation;

namespace Recipes.Runtime.Data.MovieLens;

/// <summary>Resolved ratings, with where they came from.</summary>
public sealed record MovieLensData(UserItemRatings Ratings, DataSourceKind Source, string Name, string Description);

/// <summary>Ratings made up to stand in for a release when there is no data, and a few words on how they were made.</summary>
public sealed record GeneratedStandIn(UserItemRatings Ratings, string Name, string How);

/// <summary>
/// Finds MovieLens in the order of DESIGN.md section 5: <c>--data</c> (a folder, ratings file or .zip in
/// any of the three layouts), the verified download cache, a download of the official zip, and finally
/// <see cref="GeneratedMovieRatings"/> (or the caller's own stand-in). Zips are read in place, never unpacked.
/// </summary>
public static class MovieLensDataSets
{
    public const string CacheSubfolder = "movielens";

    /// <param name="generate">Makes the stand-in for <paramref name="release"/> when there is no data; null for
    /// <see cref="GeneratedMovieRatings"/>' default catalogue.</param>
    public static MovieLensData Resolve(MovieLensRelease release, string? localPath, string cacheFolder, bool offline, TextWriter log,
        Func<MovieLensRelease, GeneratedStandIn>? generate = null)
    {
        string name = MovieLensDownloads.NameOf(release);

        // 1. A local copy in one of the original layouts.
        if (localPath is not null)
        {
            var content = MovieLensFiles.Read(localPath);
            return new MovieLensData(ToRatings(content), DataSourceKind.Local, NameOfLocal(content), $"{content.Ratings.Count:N0} ratings from {content.RatingsSource}");
        }

        // 2. The cache, when the zip there has the published checksum; 3. a download.
        var remote = MovieLensDownloads.Of(release);
        var downloader = new Downloader(Path.Combine(cacheFolder, CacheSubfolder));
        if (downloader.FindVerified(remote, log) is { } cached)
            return new MovieLensData(ToRatings(MovieLensFiles.Read(cached)), DataSourceKind.Cache, name, $"{name} from the cache {cached}");
        if (!offline)
        {
            try
            {
                string downloaded = ConsoleDownloadProgress.FetchAsync(remote, downloader.CacheFolderPath).GetAwaiter().GetResult();
                return new MovieLensData(ToRatings(MovieLensFiles.Read(downloaded)), DataSourceKind.Download, name, $"{name} downloaded to {downloaded}");
            }
            catch (Exception error) when (error is DownloadFailedException or DataFileException)
            {
                // Unreachable servers are the normal offline case; a checksum mismatch left nothing in the cache.
                log.WriteLine($"Could not download {name} ({error.Message}); falling back to generated ratings.");
            }
        }

        // 4. Generated ratings: the caller's stand-in, else hidden tastes in ML-1M's catalogue shape.
        if (generate is not null)
        {
            var standIn = generate(release);
            log.WriteLine($"Using GENERATED movie ratings (not {name}): {standIn.Ratings.Count:N0} ratings by {standIn.Ratings.UserCount:N0} users " +
                          $"of {standIn.Ratings.ItemCount:N0} movies, {standIn.How}.");
            return new MovieLensData(standIn.Ratings, DataSourceKind.Generated, standIn.Name, $"{standIn.Name} ({standIn.How})");
        }
        var (ratings, movies) = GeneratedMovieRatings.Create();
        var generated = UserItemRatings.Create(ratings, movies, Recommendation.RatingScale.WholeStars);
        log.WriteLine($"Using GENERATED movie ratings (not {name}): {generated.Count:N0} ratings by {generated.UserCount:N0} users of {generated.ItemCount:N0} movies, " +
                      $"from hidden tastes with popularity skew (seed {GeneratedMovieRatings.DefaultSeed}).");
        return new MovieLensData(generated, DataSourceKind.Generated, "generated ratings", $"generated ratings (hidden tastes, seed {GeneratedMovieRatings.DefaultSeed})");
    }

    static UserItemRatings ToRatings(MovieLensContent content)
    {
        if (content.Ratings.Count == 0) throw new DataFileException(content.RatingsSource, "no ratings in the file");
        return UserItemRatings.Create(content.Ratings, content.Movies, MovieLensReader.ScaleOf(content.Format));
    }

    // Named after the folder (or zip) the ratings came from, as the releases are: "MovieLens ml-1m".
    static string NameOfLocal(MovieLensContent content)
    {
        string release = Path.GetFileName(Path.GetDirectoryName(content.RatingsSource)) ?? "";
        if (release.EndsWith(".zip", StringComparison.OrdinalIgnoreCase)) release = release[..^4];
        return release.Length > 0 ? $"MovieLens {release}" : "MovieLens";
    }
}
