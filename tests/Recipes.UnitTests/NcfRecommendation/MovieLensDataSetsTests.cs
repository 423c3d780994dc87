using Recipes.NcfRecommendation;
using Recipes.Runtime.Data;
using Recipes.Runtime.Data.Download;

namespace Recipes.Tests.NcfRecommendation;

public class MovieLensDataSetsTests
{
    [Fact]
    public void Local_data_comes_first_with_the_ids_renumbered_and_titles_attached()
    {
        using var folder = new MovieLensFolder();
        folder.Write("ml-1m/ratings.dat", "5::30::4::978300760\n9::10::2::978300761\n5::10::5::978300762\n");
        folder.Write("ml-1m/movies.dat", "10::Heat (1995)::Action\n30::Casino (1995)::Drama\n99::Unrated (1990)::Drama\n");
        var data = MovieLensDataSets.Resolve(MovieLensRelease.OneMillion, folder.Path, Path.Combine(folder.Path, "cache"), offline: true, TextWriter.Null);

        Assert.Equal(DataSourceKind.Local, data.Source);
        Assert.Equal("MovieLens ml-1m", data.Name);
        var ratings = data.Ratings;
        Assert.Equal((3, 2, 2), (ratings.Count, ratings.UserCount, ratings.ItemCount));
        Assert.Equal([0, 1, 0], ratings.Users.ToArray());   // users 5 and 9 -> 0 and 1
        Assert.Equal([1, 0, 0], ratings.Items.ToArray());   // movies 10 and 30 -> 0 and 1
        Assert.Equal((5, 30), (ratings.UserId(0), ratings.ItemId(1)));
        Assert.Equal("Casino (1995)", ratings.ItemTitle(1));
        Assert.Equal(1, ratings.ItemOfId(30));
        Assert.Null(ratings.ItemOfId(99));
    }

    [Fact]
    public void Offline_without_data_a_cache_file_that_fails_its_checksum_is_ignored_and_ratings_are_generated()
    {
        using var folder = new MovieLensFolder();
        string cache = Path.Combine(folder.Path, "cache");
        folder.Write($"cache/{MovieLensDataSets.CacheSubfolder}/{MovieLensDownloads.OneMillion.FileName}", "not the real zip");
        var log = new StringWriter();
        var data = MovieLensDataSets.Resolve(MovieLensRelease.OneMillion, null, cache, offline: true, log);

        Assert.Equal(DataSourceKind.Generated, data.Source);
        Assert.Contains("GENERATED", log.ToString());
        // The stand-in has the shape of the release asked for.
        Assert.Equal("generated ml-1m-like ratings", data.Name);
        Assert.Equal((MovieLensShape.OneMillion.Users, MovieLensShape.OneMillion.Ratings), (data.Ratings.UserCount, data.Ratings.Count));
        Assert.True(data.Ratings.HasTitles);
    }

    [Fact]
    public void The_published_zips_have_GroupLens_addresses_distinct_names_and_the_recorded_checksums()
    {
        RemoteFile[] all = [MovieLensDownloads.OneMillion, MovieLensDownloads.HundredThousand, MovieLensDownloads.LatestSmall];
        Assert.Equal(3, all.Select(file => file.FileName).Distinct().Count());
        Assert.All(all, file => Assert.Equal($"https://files.grouplens.org/datasets/movielens/{file.FileName}", file.Url.ToString()));
        Assert.Equal("a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", MovieLensDownloads.Of(MovieLensRelease.OneMillion).Sha256);
    }
}
