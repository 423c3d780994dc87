namespace Recipes.NcfRecommendation;

/// <summary>
/// Draws items a user has not interacted with, uniformly, as the negatives of implicit-feedback training
/// and ranking evaluation. <see cref="Draw"/> is a pure function of (user, key), so a batch of negatives
/// can be drawn on any thread and drawn again identically after a resume.
/// </summary>
public sealed class NegativeSampler(UserItemSets known)
{
    // Rejection needs about ItemCount / unseen tries; a user who has seen almost everything gets a scan instead.
    const int MaxRejections = 64;

    public UserItemSets Known { get; } = known;

    /// <summary>An item <paramref name="user"/> has not interacted with, chosen uniformly by <paramref name="key"/>.</summary>
    /// <exception cref="InvalidOperationException">The user has interacted with every item.</exception>
    public int Draw(int user, ulong key)
    {
        int itemCount = Known.ItemCount;
        int unseen = itemCount - Known.ItemsOf(user).Length;
        if (unseen <= 0) throw new InvalidOperationException($"user {user} has interacted with all {itemCount} items: no negative to draw");
        ulong state = key;
        for (int attempt = 0; attempt < MaxRejections; attempt++)
        {
            int item = Below(NextRandom(ref state), itemCount);
            if (!Known.Contains(user, item)) return item;
        }
        // Uniform over the unseen items: pick the n-th one.
        int target = Below(NextRandom(ref state), unseen);
        var seen = Known.ItemsOf(user);
        int skipped = 0;
        for (int item = 0; ; item++)
        {
            while (skipped < seen.Length && seen[skipped] < item) skipped++;
            if (skipped < seen.Length && seen[skipped] == item) continue;
            if (target-- == 0) return item;
        }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with distinct items <paramref name="user"/> has not interacted with
    /// (the NCF paper's 99 sampled negatives). False, leaving it unspecified, when the user has fewer unseen items.
    /// </summary>
    public bool TryDrawDistinct(int user, Random random, Span<int> destination)
    {
        int unseen = Known.ItemCount - Known.ItemsOf(user).Length;
        if (unseen < destination.Length) return false;
        var chosen = new HashSet<int>(destination.Length);
        for (int i = 0; i < destination.Length; i++)
        {
            int item;
            do item = Draw(user, (ulong)random.NextInt64()); while (!chosen.Add(item));
            destination[i] = item;
        }
        return true;
    }

    /// <summary>A key for <see cref="Draw"/> that differs for every (seed, epoch, sample) in practice.</summary>
    public static ulong Key(int seed, int epoch, long sample)
    {
        ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch * 0xC2B2AE3D27D4EB4FUL);
        ulong mixed = NextRandom(ref state);
        state = mixed ^ unchecked((ulong)sample);
        return NextRandom(ref state);
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014): fast, and its output is well mixed even from adjacent states.</summary>
    static ulong NextRandom(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Maps the high 32 random bits onto 0..bound-1 by a multiply-shift (Lemire), cheaper than a division;
    /// the bias, under bound / 2^32, is far below anything a recommender could notice.</summary>
    static int Below(ulong bits, int bound) => (int)(((bits >> 32) * (ulong)bound) >> 32);
}
