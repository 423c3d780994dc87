namespace Recipes.Runtime.Data.MovieLens;

/// <summary>
/// A deterministic stand-in for MovieLens when there is no data and no network: users and movies get hidden
/// taste vectors (one dimension per genre) and movies a popularity that falls off like a real catalogue's
/// (Zipf). Which movies a user rates follows popularity times taste, and the stars follow taste, the
/// movie's quality and the user's generosity, plus noise, so there is real signal for both the explicit
/// and the implicit task. The default size is ML-1M's 6,040 users and 3,706 movies (so the models have the
/// same size as on ML-1M) with about 157,000 ratings, a sixth of ML-1M's, at least 10 per user, so that the
/// offline run takes a couple of minutes on two cores; the stars come out close to ML-1M's mix (mean 3.6).
/// </summary>
public static class GeneratedMovieRatings
{
    public const int DefaultUsers = 6_040, DefaultMovies = 3_706;
    /// <summary>Fixed, so that every run (whatever its --seed) sees the same generated catalogue.</summary>
    public const int DefaultSeed = 20_190_430;
    public const int MinRatingsPerUser = 10;

    /// <summary>One hidden taste dimension per genre, so a movie's genres say where its taste vector points.</summary>
    public static readonly IReadOnlyList<string> Genres = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Animation", "Documentary"];

    static readonly string[] TitleStarts = ["The Silent", "A Distant", "The Last", "Midnight", "The Golden", "Broken", "The Crimson", "Electric",
        "The Hidden", "Summer", "The Iron", "Paper", "The Lost", "Wild", "The Glass", "Northern", "The Secret", "Falling", "The Long", "Neon"];
    static readonly string[] TitleEnds = ["River", "Garden", "Station", "Empire", "Horizon", "Letters", "Machine", "Harbor", "Frontier", "Kingdom",
        "Witness", "Symphony", "Voyage", "Circus", "Detective", "Orchard", "Signal", "Winter", "Island", "Promise"];

    /// <param name="meanRatingsPerUser">Roughly the average number of ratings per user (ML-1M: 165).</param>
    public static (IReadOnlyList<MovieRating> Ratings, IReadOnlyList<Movie> Movies) Create(
        int users = DefaultUsers, int movies = DefaultMovies, double meanRatingsPerUser = 25, int seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(users, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(movies, MinRatingsPerUser * 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(meanRatingsPerUser, MinRatingsPerUser);
        var random = new Random(seed);
        int factors = Genres.Count;

        // Movies: taste vector, popularity (Zipf over a shuffled order, so popular ids are scattered), quality.
        var movieTaste = new double[movies * factors]; // row-major [movie, factor]
        var logPopularity = new double[movies];
        var quality = new double[movies];
        int[] popularityRank = Enumerable.Range(0, movies).ToArray();
        random.Shuffle(popularityRank);
        var catalogue = new List<Movie>(movies);
        for (int m = 0; m < movies; m++)
        {
            for (int f = 0; f < factors; f++) movieTaste[m * factors + f] = Gaussian(random);
            logPopularity[m] = -1.05 * Math.Log(popularityRank[m] + 2.0);
            quality[m] = 0.45 * Gaussian(random) + 0.04 * (logPopularity[m] + 5); // popular films are a little better liked
            catalogue.Add(new Movie(m + 1, $"{TitleStarts[random.Next(TitleStarts.Length)]} {TitleEnds[random.Next(TitleEnds.Length)]} ({random.Next(1950, 2001)})",
                GenresOf(movieTaste.AsSpan(m * factors, factors))));
        }

        // Users: taste vector, generosity, activity (log-normal like real rating counts, at least MinRatingsPerUser).
        var ratings = new List<MovieRating>((int)(users * meanRatingsPerUser * 1.1));
        var affinity = new double[movies];
        var userTaste = new double[factors];
        var picked = new PriorityQueue<int, double>();
        double sigma = 0.9, mu = Math.Log(meanRatingsPerUser) - sigma * sigma / 2;
        long firstTime = 956_703_932; // ML-1M's first rating, 25 April 2000
        for (int u = 0; u < users; u++)
        {
            for (int f = 0; f < factors; f++) userTaste[f] = Gaussian(random);
            double generosity = 0.35 * Gaussian(random);
            int count = Math.Clamp((int)Math.Round(Math.Exp(mu + sigma * Gaussian(random))), MinRatingsPerUser, movies / 4);

            // Which movies: `count` draws without replacement with probability proportional to
            // popularity x exp(1.6 affinity), by keeping the largest log-weight + Gumbel noise (the Gumbel-top-k trick).
            picked.Clear();
            for (int m = 0; m < movies; m++)
            {
                double dot = 0;
                for (int f = 0; f < factors; f++) dot += userTaste[f] * movieTaste[m * factors + f];
                affinity[m] = dot / Math.Sqrt(factors); // about N(0, 1)
                double key = logPopularity[m] + 1.6 * affinity[m] - Math.Log(-Math.Log(1 - random.NextDouble()));
                if (picked.Count < count) picked.Enqueue(m, key);
                else if (picked.TryPeek(out _, out double smallest) && key > smallest) picked.EnqueueDequeue(m, key);
            }
            // In a random order through time, so that the latest rating is any of them.
            int[] chosen = new int[picked.Count];
            for (int i = 0; i < chosen.Length; i++) chosen[i] = picked.Dequeue();
            random.Shuffle(chosen);
            long time = firstTime + random.NextInt64(0, 3L * 365 * 86_400);
            foreach (int m in chosen)
            {
                double stars = 2.6 + generosity + quality[m] + 0.9 * affinity[m] + 0.75 * Gaussian(random);
                time += random.NextInt64(60, 86_400);
                ratings.Add(new MovieRating(u + 1, m + 1, (float)Math.Clamp(Math.Round(stars), 1, 5), time));
            }
        }
        return (ratings, catalogue);
    }

    // A movie belongs to the genre its taste vector leans to most, and to any other it leans to strongly.
    static IReadOnlyList<string> GenresOf(ReadOnlySpan<double> taste)
    {
        int strongest = 0;
        for (int f = 1; f < taste.Length; f++)
            if (taste[f] > taste[strongest]) strongest = f;
        var genres = new List<string>();
        for (int f = 0; f < taste.Length; f++)
            if (f == strongest || taste[f] > 1.5) genres.Add(Genres[f]);
        return genres;
    }

    static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
