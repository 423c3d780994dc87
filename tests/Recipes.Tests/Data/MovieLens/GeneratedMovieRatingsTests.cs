using Recipes.Runtime.Data.MovieLens;

namespace Recipes.Tests.Data.MovieLens;

public class GeneratedMovieRatingsTests
{
    [Fact]
    public void The_same_seed_gives_the_same_catalogue_and_another_seed_a_different_one()
    {
        var first = GeneratedMovieRatings.Create(users: 200, movies: 300);
        var again = GeneratedMovieRatings.Create(users: 200, movies: 300);
        var other = GeneratedMovieRatings.Create(users: 200, movies: 300, seed: 7);
        Assert.Equal(first.Ratings, again.Ratings);
        Assert.Equal(first.Movies.Select(m => m.Title), again.Movies.Select(m => m.Title));
        Assert.NotEqual(first.Ratings.Take(50), other.Ratings.Take(50));
    }

    [Fact]
    public void Ratings_look_like_MovieLens_whole_stars_distinct_movies_per_user_and_a_popularity_skew()
    {
        var (ratings, movies) = GeneratedMovieRatings.Create(users: 1000, movies: 1500);
        Assert.Equal(1500, movies.Count);
        Assert.All(ratings, r => Assert.True(r.Stars is 1 or 2 or 3 or 4 or 5 && r.MovieId is >= 1 and <= 1500 && r.UserId is >= 1 and <= 1000));
        var byUser = ratings.GroupBy(r => r.UserId).ToArray();
        Assert.Equal(1000, byUser.Length);
        Assert.All(byUser, user =>
        {
            Assert.True(user.Count() >= GeneratedMovieRatings.MinRatingsPerUser);
            Assert.Equal(user.Count(), user.Select(r => r.MovieId).Distinct().Count());
            long[] times = user.Select(r => r.Timestamp).ToArray();
            Assert.Equal(times.Order(), times); // each user's ratings are in time order
        });
        double mean = ratings.Average(r => r.Stars);
        Assert.InRange(mean, 3.3, 3.9); // ML-1M: 3.58
        Assert.True(ratings.Count(r => r.Stars == 1) > 0.02 * ratings.Count && ratings.Count(r => r.Stars == 5) > 0.1 * ratings.Count);
        // A real catalogue's head: here the most-rated 10% of movies get over a third of the ratings.
        var counts = ratings.GroupBy(r => r.MovieId).Select(g => g.Count()).OrderDescending().ToArray();
        Assert.True(counts.Take(150).Sum() > ratings.Count / 3.0, $"top 10% of movies have {counts.Take(150).Sum()} of {ratings.Count} ratings");
    }

    [Fact]
    public void Movies_get_genres_from_their_hidden_tastes_and_users_lean_to_some_genres()
    {
        var (ratings, movies) = GeneratedMovieRatings.Create(users: 300, movies: 800);
        Assert.All(movies, movie => Assert.NotEmpty(movie.Genres));
        Assert.All(movies.SelectMany(m => m.Genres), genre => Assert.Contains(genre, GeneratedMovieRatings.Genres));
        // Tastes make a user's ratings concentrate on genres: each user's top genre is over-represented
        // compared with how common it is in the catalogue.
        var genreOf = movies.ToDictionary(m => m.Id, m => m.Genres[0]);
        var share = movies.GroupBy(m => m.Genres[0]).ToDictionary(g => g.Key, g => g.Count() / (double)movies.Count);
        double lift = ratings.GroupBy(r => r.UserId).Average(user =>
        {
            var top = user.GroupBy(r => genreOf[r.MovieId]).MaxBy(g => g.Count())!;
            return top.Count() / (double)user.Count() / share[top.Key];
        });
        Assert.True(lift > 1.5, $"users' favourite genres are only {lift:F2} times as common in their ratings as in the catalogue");
    }
}
