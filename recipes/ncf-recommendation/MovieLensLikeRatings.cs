
namespace Recipes.NcfRecommendation;

/// <summary>The size of a MovieLens release, and the share of each star value in it, for a generated stand-in.</summary>
/// <param name="StarShares">Fraction of the ratings at each class of <paramref name="Scale"/> (1 star first).</param>
public sealed record MovieLensShape(string Release, int Users, int Movies, int Ratings, int MinRatingsPerUser, RatingScale Scale, double[] StarShares)
{
    /// <summary>ML-100K: 100,000 ratings by 943 users (each at least 20) of 1,682 movies; 6.1% 1 star ... 21.2% 5 stars.</summary>
    public static MovieLensShape HundredThousand { get; } =
        new("ml-100k", 943, 1_682, 100_000, 20, RatingScale.WholeStars, [0.0611, 0.1137, 0.2715, 0.3417, 0.2120]);

    /// <summary>ML-1M: 1,000,209 ratings by 6,040 users (each at least 20) of 3,706 movies.</summary>
    public static MovieLensShape OneMillion { get; } =
        new("ml-1m", 6_040, 3_706, 1_000_209, 20, RatingScale.WholeStars, [0.0562, 0.1075, 0.2613, 0.3489, 0.2261]);

    /// <summary>ml-latest-small: 100,836 half-star ratings by 610 users of 9,724 rated movies.</summary>
    public static MovieLensShape LatestSmall { get; } =
        new("ml-latest-small", 610, 9_724, 100_836, 20, RatingScale.HalfStars,
            [0.0136, 0.0279, 0.0178, 0.0749, 0.0550, 0.1988, 0.1303, 0.2660, 0.0848, 0.1309]);

    public static MovieLensShape Of(MovieLensRelease release) => release switch
    {
        MovieLensRelease.HundredThousand => HundredThousand,
        MovieLensRelease.LatestSmall => LatestSmall,
        _ => OneMillion,
    };
}

/// <summary>
/// Generated ratings with the size and the statistics of a real MovieLens release, for running the recipe
/// where there is no MovieLens (no network). What makes real ratings hard is copied on purpose:
/// <list type="bullet">
/// <item>most of what can be predicted is a user's generosity and a movie's quality (biases): on ML-100K they
///   take the RMSE from about 1.13 (everyone gets the mean) to about 0.94, and tastes only a little further;</item>
/// <item>a few movies get most of the ratings and a few users give most of them (Zipf-like popularity, log-normal
///   activity, at least 20 ratings per user as GroupLens kept them), and popular movies are rated a little higher;</item>
/// <item>which movies a user rates follows popularity and taste (low-rank: one dimension per genre), so the
///   implicit task has something to learn beyond "most popular first";</item>
/// <item>the stars come out in the release's own proportions (mostly 3 and 4) by cutting a latent score at its
///   quantiles, as an ordinal model would.</item>
/// </list>
/// The same shape and seed give the same ratings on every run.
/// </summary>
public static class MovieLensLikeRatings
{
    /// <summary>Fixed, so every run of the recipe (whatever its --seed) sees the same generated catalogue.</summary>
    public const int DefaultSeed = 20_260_101;

    /// <summary>One hidden taste dimension per genre, so a movie's genres say where its taste vector points.</summary>
    public static readonly IReadOnlyList<string> Genres = ["Action", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "Animation", "Documentary"];

    // Standard deviations of the latent score's parts, chosen so that biases explain about 30% of the star
    // variance and tastes about 5% more, as on ML-100K (RMSE of the mean 1.13, of biases 0.94, of good models 0.90).
    const double UserBiasSd = 0.45, ItemBiasSd = 0.42, PopularityLift = 0.22, TasteWeight = 0.33, NoiseSd = 1.0;
    // How strongly taste steers which movies a user rates (on top of popularity), and how steep popularity falls.
    const double SelectionTaste = 1.3, PopularityExponent = 1.5, PopularityOffset = 20, ActivitySigma = 1.0;

    static readonly string[] TitleStarts = ["The Silent", "A Distant", "The Last", "Midnight", "The Golden", "Broken", "The Crimson", "Electric",
        "The Hidden", "Summer", "The Iron", "Paper", "The Lost", "Wild", "The Glass", "Northern", "The Secret", "Falling", "The Long", "Neon"];
    static readonly string[] TitleEnds = ["River", "Garden", "Station", "Empire", "Horizon", "Letters", "Machine", "Harbor", "Frontier", "Kingdom",
        "Witness", "Symphony", "Voyage", "Circus", "Detective", "Orchard", "Signal", "Winter", "Island", "Promise"];

    public static (IReadOnlyList<MovieRating> Ratings, IReadOnlyList<Movie> Movies) Create(MovieLensShape shape, int seed = DefaultSeed)
    {
        if (shape.Users < 1 || shape.MinRatingsPerUser < 1 || shape.Movies < 2 * shape.MinRatingsPerUser)
            throw new ArgumentException($"{shape.Release}: {shape.Users} users and {shape.Movies} movies cannot give every user {shape.MinRatingsPerUser} ratings");
        if (shape.Ratings < (long)shape.Users * shape.MinRatingsPerUser || shape.Ratings > (long)shape.Users * shape.Movies / 2)
            throw new ArgumentException($"{shape.Release}: {shape.Ratings} ratings do not fit {shape.Users} users of {shape.Movies} movies");
        if (shape.StarShares.Length != shape.Scale.ClassCount || Math.Abs(shape.StarShares.Sum() - 1) > 1e-3)
            throw new ArgumentException($"{shape.Release}: star shares must be one per class of {shape.Scale} and add up to 1");
        var random = new Random(seed);
        int factors = Genres.Count, movies = shape.Movies;

        // Movies: taste vector, popularity (Zipf over a shuffled order, so popular ids are scattered), quality.
        var movieTaste = new double[movies * factors]; // row-major [movie, factor]
        var logPopularity = new double[movies];
        var itemBias = new double[movies];
        int[] popularityRank = Enumerable.Range(0, movies).ToArray();
        random.Shuffle(popularityRank);
        for (int m = 0; m < movies; m++) logPopularity[m] = -PopularityExponent * Math.Log(popularityRank[m] + PopularityOffset);
        double popularityMean = logPopularity.Average();
        double popularitySd = Math.Sqrt(logPopularity.Average(p => (p - popularityMean) * (p - popularityMean)));
        var catalogue = new List<Movie>(movies);
        for (int m = 0; m < movies; m++)
        {
            for (int f = 0; f < factors; f++) movieTaste[m * factors + f] = Gaussian(random);
            itemBias[m] = ItemBiasSd * Gaussian(random) + PopularityLift * (logPopularity[m] - popularityMean) / popularitySd;
            catalogue.Add(new Movie(m + 1, $"{TitleStarts[random.Next(TitleStarts.Length)]} {TitleEnds[random.Next(TitleEnds.Length)]} ({random.Next(1930, 2001)})",
                GenresOf(movieTaste.AsSpan(m * factors, factors))));
        }

        int[] counts = RatingsPerUser(shape, random);
        var users = new int[shape.Ratings];
        var items = new int[shape.Ratings];
        var latent = new double[shape.Ratings];
        var times = new long[shape.Ratings];
        var affinity = new double[movies];
        var userTaste = new double[factors];
        var picked = new PriorityQueue<int, double>();
        long firstTime = 874_724_710; // ML-100K's first rating, September 1997
        int row = 0;
        for (int u = 0; u < shape.Users; u++)
        {
            for (int f = 0; f < factors; f++) userTaste[f] = Gaussian(random);
            double userBias = UserBiasSd * Gaussian(random);

            // Which movies: counts[u] draws without replacement with probability proportional to popularity x
            // exp(taste), by keeping the largest log-weight + Gumbel noise (the Gumbel-top-k trick).
            picked.Clear();
            for (int m = 0; m < movies; m++)
            {
                double dot = 0;
                for (int f = 0; f < factors; f++) dot += userTaste[f] * movieTaste[m * factors + f];
                affinity[m] = dot / Math.Sqrt(factors); // about N(0, 1)
                double key = logPopularity[m] + SelectionTaste * affinity[m] - Math.Log(-Math.Log(1 - random.NextDouble()));
                if (picked.Count < counts[u]) picked.Enqueue(m, key);
                else if (picked.TryPeek(out _, out double smallest) && key > smallest) picked.EnqueueDequeue(m, key);
            }
            // In a random order through time, so that the latest rating is any of them.
            int[] chosen = new int[picked.Count];
            for (int i = 0; i < chosen.Length; i++) chosen[i] = picked.Dequeue();
            random.Shuffle(chosen);
            long time = firstTime + random.NextInt64(0, 200L * 86_400);
            foreach (int m in chosen)
            {
                users[row] = u;
                items[row] = m;
                latent[row] = userBias + itemBias[m] + TasteWeight * affinity[m] + NoiseSd * Gaussian(random);
                time += random.NextInt64(30, 8 * 3_600);
                times[row] = time;
                row++;
            }
        }

        // Stars: the latent scores cut at the quantiles that give the release's own share of each star value.
        double[] sorted = (double[])latent.Clone();
        Array.Sort(sorted);
        var cuts = new double[shape.Scale.ClassCount - 1];
        double cumulative = 0;
        for (int c = 0; c < cuts.Length; c++)
        {
            cumulative += shape.StarShares[c];
            cuts[c] = sorted[Math.Clamp((int)Math.Round(cumulative * sorted.Length), 0, sorted.Length - 1)];
        }
        var ratings = new MovieRating[shape.Ratings];
        for (int r = 0; r < ratings.Length; r++)
        {
            int starClass = 0;
            while (starClass < cuts.Length && latent[r] >= cuts[starClass]) starClass++;
            ratings[r] = new MovieRating(users[r] + 1, items[r] + 1, (float)shape.Scale.StarsOf(starClass), times[r]);
        }
        return (ratings, catalogue);
    }

    /// <summary>Log-normal activity, at least the release's minimum per user, adding up to exactly its rating count.</summary>
    static int[] RatingsPerUser(MovieLensShape shape, Random random)
    {
        int cap = shape.Movies / 2;
        var weights = new double[shape.Users];
        for (int u = 0; u < weights.Length; u++) weights[u] = Math.Exp(ActivitySigma * Gaussian(random));
        double total = weights.Sum();
        int spare = shape.Ratings - shape.Users * shape.MinRatingsPerUser;
        var counts = new int[shape.Users];
        for (int u = 0; u < counts.Length; u++) counts[u] = Math.Min(cap, shape.MinRatingsPerUser + (int)(spare * weights[u] / total));
        // Hand out what rounding down (and the cap) left over, most active users first, one at a time.
        int missing = shape.Ratings - counts.Sum();
        int[] byActivity = Enumerable.Range(0, counts.Length).OrderByDescending(u => weights[u]).ToArray();
        for (int i = 0; missing > 0; i = (i + 1) % byActivity.Length)
        {
            int u = byActivity[i];
            if (counts[u] >= cap) continue;
            counts[u]++;
            missing--;
        }
        return counts;
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
