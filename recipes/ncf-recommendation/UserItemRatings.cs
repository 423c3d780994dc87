using Recipes.Runtime.Training;
using static TorchSharp.torch;

namespace Recipes.NcfRecommendation;

/// <summary>
/// Ratings with users and items renumbered densely from 0 (the row of each one's embedding), in the order
/// of their original ids, together with the way back to those ids and the items' titles and genres.
/// Rows keep the order they were read in.
/// </summary>
public sealed class UserItemRatings
{
    readonly int[] _users, _items;
    readonly float[] _stars;
    readonly long[] _timestamps;
    readonly int[] _userIds, _itemIds;
    readonly Dictionary<int, int> _userOfId, _itemOfId;
    readonly string?[] _titles;
    readonly IReadOnlyList<string>[] _genres;

    UserItemRatings(IReadOnlyList<MovieRating> ratings, IReadOnlyList<Movie> movies, RatingScale scale)
    {
        Scale = scale;
        _userIds = ratings.Select(r => r.UserId).Distinct().Order().ToArray();
        _itemIds = ratings.Select(r => r.MovieId).Distinct().Order().ToArray();
        _userOfId = _userIds.Select((id, index) => (id, index)).ToDictionary(pair => pair.id, pair => pair.index);
        _itemOfId = _itemIds.Select((id, index) => (id, index)).ToDictionary(pair => pair.id, pair => pair.index);
        _users = new int[ratings.Count];
        _items = new int[ratings.Count];
        _stars = new float[ratings.Count];
        _timestamps = new long[ratings.Count];
        for (int row = 0; row < ratings.Count; row++)
        {
            var rating = ratings[row];
            if (!scale.Allows(rating.Stars))
                throw new ArgumentException($"rating {row} ({rating.Stars} stars) is not on the scale {scale}");
            _users[row] = _userOfId[rating.UserId];
            _items[row] = _itemOfId[rating.MovieId];
            _stars[row] = rating.Stars;
            _timestamps[row] = rating.Timestamp;
        }
        _titles = new string?[_itemIds.Length];
        _genres = new IReadOnlyList<string>[_itemIds.Length];
        Array.Fill(_genres, []);
        foreach (var movie in movies)
        {
            if (!_itemOfId.TryGetValue(movie.Id, out int item)) continue; // listed but never rated
            _titles[item] = movie.Title;
            _genres[item] = movie.Genres;
        }
        HasTitles = _titles.Any(title => title is not null);
    }

    /// <summary>Renumbers <paramref name="ratings"/>; <paramref name="movies"/> may be empty (no titles).</summary>
    public static UserItemRatings Create(IReadOnlyList<MovieRating> ratings, IReadOnlyList<Movie> movies, RatingScale scale)
    {
        if (ratings.Count == 0) throw new ArgumentException("there are no ratings");
        return new UserItemRatings(ratings, movies, scale);
    }

    public RatingScale Scale { get; }
    public int Count => _users.Length;
    public int UserCount => _userIds.Length;
    public int ItemCount => _itemIds.Length;
    public bool HasTitles { get; }

    /// <summary>Dense user index of each row.</summary>
    public ReadOnlySpan<int> Users => _users;
    /// <summary>Dense item index of each row.</summary>
    public ReadOnlySpan<int> Items => _items;
    public ReadOnlySpan<float> Stars => _stars;
    public ReadOnlySpan<long> Timestamps => _timestamps;

    public int UserId(int user) => _userIds[user];
    public int ItemId(int item) => _itemIds[item];
    public int? UserOfId(int userId) => _userOfId.TryGetValue(userId, out int user) ? user : null;
    public int? ItemOfId(int movieId) => _itemOfId.TryGetValue(movieId, out int item) ? item : null;

    /// <summary>The item's title, or "movie &lt;id&gt;" when the release came without a movie list.</summary>
    public string ItemTitle(int item) => _titles[item] ?? $"movie {_itemIds[item]}";
    public IReadOnlyList<string> ItemGenres(int item) => _genres[item];

    /// <summary>How many times each item was rated, by dense index (its popularity).</summary>
    public int[] ItemRatingCounts(IEnumerable<int>? rows = null)
    {
        var counts = new int[ItemCount];
        foreach (int row in rows ?? Enumerable.Range(0, Count)) counts[_items[row]]++;
        return counts;
    }

    /// <summary>
    /// The explicit-rating training data of the given rows: inputs are (user, item) index pairs as an int64
    /// [rows, 2] tensor, targets the rating class (<see cref="RatingScale.ClassOf"/>) as int64 [rows].
    /// </summary>
    public InMemoryBatchSource ToRatingBatchSource(IReadOnlyList<int> rows)
    {
        var pairs = new long[rows.Count * 2];
        var classes = new long[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            int row = rows[i];
            pairs[2 * i] = _users[row];
            pairs[2 * i + 1] = _items[row];
            classes[i] = Scale.ClassOf(_stars[row]);
        }
        return new InMemoryBatchSource(tensor(pairs, [rows.Count, 2]), tensor(classes));
    }
}
