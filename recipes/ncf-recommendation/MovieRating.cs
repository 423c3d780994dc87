namespace Recipes.NcfRecommendation;

/// <summary>One rating as MovieLens publishes it: original ids, stars, and the Unix time it was given.</summary>
public readonly record struct MovieRating(int UserId, int MovieId, float Stars, long Timestamp);

/// <summary>A movie of the catalogue: its MovieLens id, title (with the year, as published) and genres.</summary>
public sealed record Movie(int Id, string Title, IReadOnlyList<string> Genres);

/// <summary>The three file layouts GroupLens has published MovieLens in.</summary>
public enum MovieLensFormat
{
    /// <summary>ML-1M (and ML-10M): <c>ratings.dat</c> and <c>movies.dat</c>, fields separated by <c>::</c>, Latin-1.</summary>
    DoubleColon,
    /// <summary>ML-100K: <c>u.data</c> (tab-separated) and <c>u.item</c> (<c>|</c>-separated, Latin-1).</summary>
    HundredThousand,
    /// <summary>ml-latest, ml-latest-small, ML-20M/25M: <c>ratings.csv</c> and <c>movies.csv</c> with a header row, UTF-8.</summary>
    Csv,
}
