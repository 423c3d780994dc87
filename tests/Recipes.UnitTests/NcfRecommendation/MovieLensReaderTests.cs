using System.Text;
using Recipes.NcfRecommendation;
using Recipes.Runtime.Data;

namespace Recipes.Tests.NcfRecommendation;

public class MovieLensReaderTests
{
    static IReadOnlyList<MovieRating> Ratings(string text, MovieLensFormat format) => MovieLensReader.ReadRatings(new StringReader(text), "ratings", format);

    static IReadOnlyList<Movie> Movies(string text, MovieLensFormat format) => MovieLensReader.ReadMovies(new StringReader(text), "movies", format);

    static string Problem(Action read) => Assert.Throws<DataFileException>(read).Message;

    [Fact]
    public void ML_1M_ratings_and_movies_read_with_every_field()
    {
        var ratings = Ratings("1::1193::5::978300760\n1::661::3::978302109\r\n\n6040::1097::4::956715648\n", MovieLensFormat.DoubleColon);
        Assert.Equal([new MovieRating(1, 1193, 5, 978300760), new MovieRating(1, 661, 3, 978302109), new MovieRating(6040, 1097, 4, 956715648)], ratings);

        var movies = Movies("1::Toy Story (1995)::Animation|Children's|Comedy\n2::Ami, amor (1999)::Drama\n", MovieLensFormat.DoubleColon);
        Assert.Equal("Toy Story (1995)", movies[0].Title);
        Assert.Equal(["Animation", "Children's", "Comedy"], movies[0].Genres);
        Assert.Equal((2, "Ami, amor (1999)"), (movies[1].Id, movies[1].Title));
    }

    [Fact]
    public void Latin_1_titles_of_the_older_releases_are_decoded_from_their_bytes()
    {
        using var folder = new MovieLensFolder();
        // 0xE9 is é in Latin-1 and not valid UTF-8 on its own.
        string path = folder.Write("ml-1m/movies.dat", "4000::Am\u00e9lie (2001)::Comedy|Romance\n", Encoding.Latin1);
        Assert.Equal(0xE9, File.ReadAllBytes(path)[8]);
        Assert.Equal("Am\u00e9lie (2001)", MovieLensReader.ReadMovies(path, MovieLensFormat.DoubleColon)[0].Title);
    }

    [Fact]
    public void ML_100K_tab_separated_ratings_and_pipe_separated_movies_with_genre_flags()
    {
        var ratings = Ratings("196\t242\t3\t881250949\n186\t302\t3\t891717742\n", MovieLensFormat.HundredThousand);
        Assert.Equal(new MovieRating(186, 302, 3, 891717742), ratings[1]);

        string flags = "0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0"; // Animation, Children's, Comedy
        var movie = Movies($"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{flags}\n", MovieLensFormat.HundredThousand).Single();
        Assert.Equal((1, "Toy Story (1995)"), (movie.Id, movie.Title));
        Assert.Equal(["Animation", "Children's", "Comedy"], movie.Genres);
    }

    [Fact]
    public void Ml_latest_CSV_reads_half_stars_and_quoted_titles_with_commas_and_quotes()
    {
        var ratings = Ratings("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,0.5,964981247\n", MovieLensFormat.Csv);
        Assert.Equal([4f, 0.5f], ratings.Select(r => r.Stars));

        var movies = Movies("\uFEFFmovieId,title,genres\n11,\"American President, The (1995)\",Comedy|Drama|Romance\n" +
                            "3,\"Say \"\"Cheese\"\" (2001)\",(no genres listed)\n", MovieLensFormat.Csv);
        Assert.Equal("American President, The (1995)", movies[0].Title);
        Assert.Equal("Say \"Cheese\" (2001)", movies[1].Title);
        Assert.Empty(movies[1].Genres);
    }

    [Theory]
    [InlineData("1::1193::5\n", "line 1: expected 4 fields")]
    [InlineData("1::1193::5::978300760\n1::1193::5::9::9\n", "line 2: expected 4 fields")]
    [InlineData("1::x::5::978300760\n", "line 1: movie id \"x\" is not a non-negative whole number")]
    [InlineData("-4::1::5::978300760\n", "line 1: user id \"-4\"")]
    [InlineData("1::1::6::978300760\n", "line 1: rating \"6\" is not on the scale 1-5 stars")]
    [InlineData("1::1::3.5::978300760\n", "line 1: rating \"3.5\" is not on the scale")]
    [InlineData("1::1::4::yesterday\n", "line 1: timestamp \"yesterday\" is not a Unix time")]
    public void Malformed_ML_1M_rating_lines_name_the_file_and_line(string text, string expected)
    {
        string message = Problem(() => Ratings(text, MovieLensFormat.DoubleColon));
        Assert.StartsWith("ratings: ", message);
        Assert.Contains(expected, message);
    }

    [Fact]
    public void Malformed_movie_lists_and_CSV_headers_name_the_file_and_line()
    {
        Assert.Contains("line 2: expected 3 fields (MovieID::Title::Genres)", Problem(() => Movies("1::A (1995)::Drama\n2::B (1996)\n", MovieLensFormat.DoubleColon)));
        Assert.Contains("line 2: movie id 1 appears again (first on line 1)", Problem(() => Movies("1::A (1995)::Drama\n1::B (1996)::Drama\n", MovieLensFormat.DoubleColon)));
        Assert.Contains("line 1: the title is empty", Problem(() => Movies("1:: ::Drama\n", MovieLensFormat.DoubleColon)));
        Assert.Contains("line 1: expected 24 fields", Problem(() => Movies("1|Toy Story (1995)|01-Jan-1995\n", MovieLensFormat.HundredThousand)));
        string badFlag = "1|T (1995)|||url|0|0|0|2|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0";
        Assert.Contains("genre flag \"2\" for Animation is not 0 or 1", Problem(() => Movies(badFlag + "\n", MovieLensFormat.HundredThousand)));
        Assert.Contains("line 1: expected the header \"userId,movieId,rating,timestamp\"", Problem(() => Ratings("1,1,4.0,964982703\n", MovieLensFormat.Csv)));
        Assert.Contains("empty file", Problem(() => Ratings("", MovieLensFormat.Csv)));
        Assert.Contains("line 2: unterminated quoted field", Problem(() => Movies("movieId,title,genres\n1,\"Open (1995),Drama\n", MovieLensFormat.Csv)));
        Assert.Contains("line 2: rating \"4.25\" is not on the scale 0.5-5 stars in steps of 0.5",
            Problem(() => Ratings("userId,movieId,rating,timestamp\n1,1,4.25,964982703\n", MovieLensFormat.Csv)));
    }

    [Fact]
    public void Formats_have_their_scales_and_encodings()
    {
        Assert.Equal(RatingScale.WholeStars, MovieLensReader.ScaleOf(MovieLensFormat.DoubleColon));
        Assert.Equal(RatingScale.HalfStars, MovieLensReader.ScaleOf(MovieLensFormat.Csv));
        Assert.Equal(Encoding.Latin1.CodePage, MovieLensReader.EncodingOf(MovieLensFormat.HundredThousand).CodePage);
        Assert.Equal(19, MovieLensReader.HundredThousandGenres.Count);
    }
}
