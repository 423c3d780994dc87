using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.NcfRecommendation;

/// <summary>Resolved ratings, with where they came from.</summary>
public sealed record MovieLensData(UserItemRatings Ratings, DataSourceKind Source, string Name, string Description);

/// <summary>
/// Finds MovieLens in the order of DESIGN.md section 5: <c>--data</c> (a folder, ratings file or .zip in
/// any of the three layouts), the verified download cache, a download of the official zip, and finally
/// <see cref="MovieLensLikeRatings"/> in the shape of the release asked for. Zips are read in place, never unpacked.
/// </summary>
public static class MovieLensDataSets
{
    public const string CacheSubfolder = "movielens";

    public static MovieLensData Resolve(MovieLensRelease release, string? localPath, string cacheFolder, bool offline, TextWriter log)
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

        // 4. Generated ratings with the size and statistics of the release asked for (users, movies, star mix, skew).
        var shape = MovieLensShape.Of(release);
        var (ratings, movies) = MovieLensLikeRatings.Create(shape);
        var generated = UserItemRatings.Create(ratings, movies, shape.Scale);
        string generatedName = $"generated {shape.Release}-like ratings";
        string how = $"biases, tastes and popularity skew in {shape.Release}'s shape, seed {MovieLensLikeRatings.DefaultSeed}";
        log.WriteLine($"Using GENERATED movie ratings (not {name}): {generated.Count:N0} ratings by {generated.UserCount:N0} users " +
                      $"of {generated.ItemCount:N0} movies, {how}.");
        return new MovieLensData(generated, DataSourceKind.Generated, generatedName, $"{generatedName} ({how})");
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
