namespace Recipes.Runtime.Data;

/// <summary>Where a recipe's data came from, in the order they are tried (DESIGN.md section 5).</summary>
public enum DataSourceKind
{
    /// <summary>A local copy in the original format, given with <c>--data</c>.</summary>
    Local,
    /// <summary>A previous download whose checksum was verified.</summary>
    Cache,
    /// <summary>Downloaded from the official source in this run.</summary>
    Download,
    /// <summary>A deterministic generated data set of the same shape (offline fallback).</summary>
    Generated,
}

public static class DataSourceKindExtensions
{
    /// <summary>The lower-case name written to metrics.json.</summary>
    public static string ToMetricName(this DataSourceKind kind) => kind.ToString().ToLowerInvariant();
}
