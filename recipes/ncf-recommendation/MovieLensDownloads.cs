using Recipes.Runtime.Data.Download;

namespace Recipes.NcfRecommendation;

/// <summary>The MovieLens releases the recipes can download.</summary>
public enum MovieLensRelease
{
    /// <summary>ML-1M: 1,000,209 ratings by 6,040 users of 3,706 movies (the seed's and the NCF paper's data).</summary>
    OneMillion,
    /// <summary>ML-100K: 100,000 ratings by 943 users of 1,682 movies.</summary>
    HundredThousand,
    /// <summary>ml-latest-small: about 100,000 half-star ratings by 610 users of 9,700 movies.</summary>
    LatestSmall,
}

/// <summary>
/// The official GroupLens zips, with the sizes and SHA-256 that TensorFlow Datasets records for them
/// (tensorflow_datasets/url_checksums/movielens.txt); GroupLens itself publishes only MD5s.
/// </summary>
public static class MovieLensDownloads
{
    public static readonly Uri GroupLens = new("https://files.grouplens.org/datasets/movielens/");

    /// <summary>5,917,549 bytes.</summary>
    public static RemoteFile OneMillion { get; } = At("ml-1m.zip", "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20");

    /// <summary>4,924,029 bytes.</summary>
    public static RemoteFile HundredThousand { get; } = At("ml-100k.zip", "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229");

    /// <summary>978,202 bytes. GroupLens rebuilds "latest" releases from time to time; a rebuilt file fails the check.</summary>
    public static RemoteFile LatestSmall { get; } = At("ml-latest-small.zip", "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436");

    public static RemoteFile Of(MovieLensRelease release) => release switch
    {
        MovieLensRelease.OneMillion => OneMillion,
        MovieLensRelease.HundredThousand => HundredThousand,
        MovieLensRelease.LatestSmall => LatestSmall,
        _ => throw new ArgumentOutOfRangeException(nameof(release), release, "unknown MovieLens release"),
    };

    public static string NameOf(MovieLensRelease release) => release switch
    {
        MovieLensRelease.OneMillion => "MovieLens-1M",
        MovieLensRelease.HundredThousand => "MovieLens-100K",
        _ => "MovieLens latest-small",
    };

    static RemoteFile At(string fileName, string sha256) => new(new Uri(GroupLens, fileName), fileName, sha256);
}
