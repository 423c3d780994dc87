namespace Recipes.NcfRecommendation;

/// <summary>The interaction of one user kept out of training to test the ranking.</summary>
public readonly record struct HeldOutInteraction(int User, int Item);

/// <summary>Rows to train on, and one held-out interaction per user who has at least two.</summary>
public sealed record LeaveOneOutSplit(int[] TrainRows, IReadOnlyList<HeldOutInteraction> HeldOut);

/// <summary>The two ways NCF experiments divide ratings into training and test data.</summary>
public static class RatingSplits
{
    /// <summary>
    /// A seeded random split of the rows (the seed's 80/20 with seed 1): <paramref name="testFraction"/> of
    /// the rows, rounded, go to the test set. Both lists come back in row order.
    /// </summary>
    public static (int[] Train, int[] Test) Random(int count, double testFraction, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!(testFraction is > 0 and < 1)) throw new ArgumentOutOfRangeException(nameof(testFraction), testFraction, "must be between 0 and 1");
        int[] rows = Enumerable.Range(0, count).ToArray();
        new System.Random(seed).Shuffle(rows);
        int testCount = (int)Math.Round(count * testFraction);
        int[] test = rows[..testCount], train = rows[testCount..];
        Array.Sort(test);
        Array.Sort(train);
        return (train, test);
    }

    /// <summary>
    /// A seeded random <paramref name="count"/> of <paramref name="rows"/> in row order (all of them when there are
    /// no more), for quick runs: the first rows of a file are often a few users' whole histories.
    /// </summary>
    public static int[] Subset(int[] rows, int count, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count >= rows.Length) return rows;
        var shuffled = (int[])rows.Clone();
        new System.Random(seed).Shuffle(shuffled);
        var subset = shuffled[..count];
        Array.Sort(subset);
        return subset;
    }

    /// <summary>
    /// The NCF paper's leave-one-out protocol: each user's latest interaction (the last row among equal
    /// timestamps) is held out for testing, the rest trained on. Users with a single interaction are kept
    /// whole in training, since holding it out would leave nothing to learn them from.
    /// </summary>
    public static LeaveOneOutSplit LeaveLatestOut(UserItemRatings ratings)
    {
        var users = ratings.Users;
        var timestamps = ratings.Timestamps;
        var latestRow = new int[ratings.UserCount];
        var interactions = new int[ratings.UserCount];
        Array.Fill(latestRow, -1);
        for (int row = 0; row < ratings.Count; row++)
        {
            int user = users[row];
            interactions[user]++;
            if (latestRow[user] < 0 || timestamps[row] >= timestamps[latestRow[user]]) latestRow[user] = row;
        }
        var heldOutRows = new HashSet<int>();
        var heldOut = new List<HeldOutInteraction>();
        for (int user = 0; user < ratings.UserCount; user++)
        {
            if (interactions[user] < 2) continue;
            heldOutRows.Add(latestRow[user]);
            heldOut.Add(new HeldOutInteraction(user, ratings.Items[latestRow[user]]));
        }
        int[] train = Enumerable.Range(0, ratings.Count).Where(row => !heldOutRows.Contains(row)).ToArray();
        return new LeaveOneOutSplit(train, heldOut);
    }
}
