using Recipes.NcfRecommendation;
using Recipes.Runtime.Data;

namespace Recipes.Tests.NcfRecommendation;

public class MovieLensFilesTests
{
    const string Ratings1M = "1::10::5::978300760\n2::10::3::978302109\n2::20::4::978302110\n";
    const string Movies1M = "10::Am\u00e9lie (2001)::Comedy|Romance\n20::Heat (1995)::Action|Crime|Thriller\n";

    [Fact]
    public void A_folder_a_folder_one_level_up_and_the_ratings_file_itself_all_find_ML_1M()
    {
        using var folder = new MovieLensFolder();
        string ratings = folder.Write("ml-1m/ratings.dat", Ratings1M);
        folder.Write("ml-1m/movies.dat", Movies1M);

        foreach (string path in new[] { Path.Combine(folder.Path, "ml-1m"), folder.Path, ratings })
        {
            var content = MovieLensFiles.Read(path);
            Assert.Equal(MovieLensFormat.DoubleColon, content.Format);
            Assert.Equal(3, content.Ratings.Count);
            Assert.Equal("Am\u00e9lie (2001)", content.Movies[0].Title);
            Assert.Equal(ratings, content.RatingsSource);
        }
    }

    [Fact]
    public void The_official_zip_is_read_in_place_and_errors_inside_it_name_the_entry()
    {
        using var folder = new MovieLensFolder();
        folder.Write("ml-1m/ratings.dat", Ratings1M);
        folder.Write("ml-1m/movies.dat", Movies1M);
        folder.Write("ml-1m/README", "not data");
        string zip = folder.Zip("ml-1m", "ml-1m.zip");
        var content = MovieLensFiles.Read(zip);
        Assert.Equal((3, 2), (content.Ratings.Count, content.Movies.Count));
        Assert.Equal($"{zip}/ml-1m/ratings.dat", content.RatingsSource);

        folder.Write("bad/ml-1m/ratings.dat", Ratings1M + "3::10::five::978302111\n");
        string badZip = folder.Zip("bad/ml-1m", "bad.zip");
        var error = Assert.Throws<DataFileException>(() => MovieLensFiles.Read(badZip));
        Assert.Equal($"{badZip}/ml-1m/ratings.dat: line 4: rating \"five\" is not on the scale 1-5 stars in steps of 1", error.Message);
    }

    [Fact]
    public void ML_100K_and_CSV_releases_are_recognised_by_their_file_names_and_movies_are_optional()
    {
        using var folder = new MovieLensFolder();
        folder.Write("ml-100k/u.data", "196\t242\t3\t881250949\n");
        Assert.Equal(MovieLensFormat.HundredThousand, MovieLensFiles.Read(folder.Path).Format);
        Assert.Empty(MovieLensFiles.Read(folder.Path).Movies);

        using var csv = new MovieLensFolder();
        csv.Write("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n");
        csv.Write("movies.csv", "movieId,title,genres\n1,Toy Story (1995),Animation\n");
        var content = MovieLensFiles.Read(csv.Path);
        Assert.Equal((MovieLensFormat.Csv, 4.5f, "Toy Story (1995)"), (content.Format, content.Ratings[0].Stars, content.Movies[0].Title));
    }

    [Fact]
    public void A_folder_without_ratings_a_corrupt_zip_and_a_stray_file_are_clear_errors()
    {
        using var folder = new MovieLensFolder();
        folder.Write("notes.txt", "nothing here");
        Assert.Contains("no MovieLens ratings here (expected ratings.dat (ML-1M), u.data (ML-100K) or ratings.csv",
            Assert.Throws<DataFileException>(() => MovieLensFiles.Read(folder.Path)).Message);
        Assert.Contains("not a MovieLens ratings file", Assert.Throws<DataFileException>(() => MovieLensFiles.Read(Path.Combine(folder.Path, "notes.txt"))).Message);
        string fakeZip = folder.Write("ml-1m.zip", "PK but not really a zip");
        var error = Assert.Throws<DataFileException>(() => MovieLensFiles.Read(fakeZip));
        Assert.StartsWith($"{fakeZip}: not a readable zip archive", error.Message);
        Assert.Contains("no such file or folder", Assert.Throws<DataFileException>(() => MovieLensFiles.Read(Path.Combine(folder.Path, "missing"))).Message);
    }
}
