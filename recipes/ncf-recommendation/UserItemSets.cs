namespace Recipes.NcfRecommendation;

/// <summary>The set of items each user has interacted with, as sorted arrays for quick membership tests.</summary>
public sealed class UserItemSets
{
    readonly int[][] _itemsOfUser;

    UserItemSets(int[][] itemsOfUser, int itemCount)
    {
        _itemsOfUser = itemsOfUser;
        ItemCount = itemCount;
    }

    /// <summary>The items of each user in <paramref name="rows"/> (every row when null).</summary>
    public static UserItemSets From(UserItemRatings ratings, IEnumerable<int>? rows = null)
    {
        var lists = new List<int>[ratings.UserCount];
        for (int user = 0; user < lists.Length; user++) lists[user] = [];
        var users = ratings.Users.ToArray();
        var items = ratings.Items.ToArray();
        foreach (int row in rows ?? Enumerable.Range(0, ratings.Count)) lists[users[row]].Add(items[row]);
        return new UserItemSets(lists.Select(list => list.Distinct().Order().ToArray()).ToArray(), ratings.ItemCount);
    }

    /// <summary>Builds the sets from explicit lists (tests, other sources).</summary>
    public static UserItemSets FromLists(IReadOnlyList<IEnumerable<int>> itemsOfUser, int itemCount) =>
        new(itemsOfUser.Select(items =>
        {
            int[] sorted = items.Distinct().Order().ToArray();
            if (sorted.Length > 0 && (sorted[0] < 0 || sorted[^1] >= itemCount))
                throw new ArgumentOutOfRangeException(nameof(itemsOfUser), $"item indices must be in 0..{itemCount - 1}");
            return sorted;
        }).ToArray(), itemCount);

    public int UserCount => _itemsOfUser.Length;
    public int ItemCount { get; }

    public ReadOnlySpan<int> ItemsOf(int user) => _itemsOfUser[user];

    public bool Contains(int user, int item) => Array.BinarySearch(_itemsOfUser[user], item) >= 0;
}
