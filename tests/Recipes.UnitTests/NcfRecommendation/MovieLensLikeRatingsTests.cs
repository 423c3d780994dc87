using Recipes.NcfRecommendation;

namespace Recipes.Tests.NcfRecommendation;

/// <summary>The ncf-recommendation recipe's generated stand-in must look like the release it replaces, or a result
/// on it says nothing about MovieLens: its size, star mix, skew, and how far a constant guess gets.</summary>
public sealed class MovieLensLikeRatingsTests
{
    [Fact]
    public void The_ML_100K_stand_in_has_the_release_size_star_mix_and_skew()
    {
        var shape = MovieLensShape.HundredThousand;
        var (ratings, movies) = MovieLensLikeRatings.Create(shape);

        Assert.Equal(100_000, ratings.Count);
        Assert.Equal(1_682, movies.Count);
        var perUser = ratings.GroupBy(r => r.UserId).Select(g => g.Count()).Order().ToArray();
        Assert.Equal(943, perUser.Length);
        Assert.True(perUser[0] >= 20, $"a user with {perUser[0]} ratings; GroupLens kept users with at least 20");
        Assert.Equal(ratings.Count, ratings.Select(r => (r.UserId, r.MovieId)).Distinct().Count()); // one rating per pair

        // Stars: whole, 1-5, in ML-100K's proportions (cut at the latent score's quantiles, so within rounding).
        Assert.All(ratings, r => Assert.True(shape.Scale.Allows(r.Stars), $"{r.Stars} stars"));
        for (int stars = 1; stars <= 5; stars++)
            Assert.Equal(shape.StarShares[stars - 1], ratings.Count(r => r.Stars == stars) / (double)ratings.Count, 2);

        // Skew: a blockbuster most users rated, a long tail, and a few very active users (ML-100K: 583, 27, 737).
        var perMovie = ratings.GroupBy(r => r.MovieId).Select(g => g.Count()).Order().ToArray();
        Assert.InRange(perMovie[^1], 400, 900);
        Assert.InRange(perMovie[perMovie.Length / 2], 10, 60);
        Assert.InRange(perUser[^1], 400, 900);
        Assert.True(perUser[perUser.Length / 2] < 100);

        // A constant guess does as well as on the real set (training mean: MAE 0.948, RMSE 1.13 there).
        double mean = ratings.Average(r => r.Stars);
        Assert.InRange(ratings.Average(r => Math.Abs(r.Stars - mean)), 0.90, 1.0);
        Assert.InRange(Math.Sqrt(ratings.Average(r => (r.Stars - mean) * (r.Stars - mean))), 1.05, 1.2);
    }

    [Fact]
    public void The_same_shape_and_seed_give_the_same_ratings_and_another_seed_others()
    {
        var (first, _) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand);
        var (again, _) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand);
        var (other, _) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand, seed: 5);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Each_user_rates_in_time_order_and_leans_to_the_genres_of_their_hidden_taste()
    {
        var (ratings, movies) = MovieLensLikeRatings.Create(MovieLensShape.HundredThousand);
        Assert.All(ratings.GroupBy(r => r.UserId), user =>
        {
            long[] times = user.Select(r => r.Timestamp).ToArray();
            Assert.Equal(times.Order(), times);
        });
        Assert.All(movies, movie => Assert.NotEmpty(movie.Genres));
        Assert.All(movies.SelectMany(m => m.Genres), genre => Assert.Contains(genre, MovieLensLikeRatings.Genres));
        // Tastes steer which movies a user rates: each user's top genre is over-represented in their ratings
        // compared with how common it is in the catalogue (popularity alone would give a lift near 1).
        var genreOf = movies.ToDictionary(m => m.Id, m => m.Genres[0]);
        var share = movies.GroupBy(m => m.Genres[0]).ToDictionary(g => g.Key, g => g.Count() / (double)movies.Count);
        double lift = ratings.GroupBy(r => r.UserId).Average(user =>
        {
            var top = user.GroupBy(r => genreOf[r.MovieId]).MaxBy(g => g.Count())!;
            return top.Count() / (double)user.Count() / share[top.Key];
        });
        Assert.True(lift > 1.5, $"users' favourite genres are only {lift:F2} times as common in their ratings as in the catalogue");
    }

    [Theory]
    [InlineData(MovieLensRelease.OneMillion, 6_040, 3_706, 1_000_209)]
    [InlineData(MovieLensRelease.LatestSmall, 610, 9_724, 100_836)]
    public void Each_release_gets_a_stand_in_of_its_own_size(MovieLensRelease release, int users, int movies, int count)
    {
        var shape = MovieLensShape.Of(release);
        var (ratings, catalogue) = MovieLensLikeRatings.Create(shape);
        Assert.Equal(count, ratings.Count);
        Assert.Equal(movies, catalogue.Count);
        Assert.Equal(users, ratings.Select(r => r.UserId).Distinct().Count());
        Assert.All(ratings.Take(1_000), r => Assert.True(shape.Scale.Allows(r.Stars)));
    }
}
