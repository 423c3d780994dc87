namespace Recipes.Runtime.Data;

/// <summary>
/// Where verified downloads are kept between runs: <c>$RECIPES_CACHE</c> when set, else
/// <c>$XDG_CACHE_HOME/dotnet-dl-recipes</c>, else <c>~/.cache/dotnet-dl-recipes</c>.
/// </summary>
public static class CacheFolder
{
    public const string EnvironmentVariable = "RECIPES_CACHE";

    public static string Default
    {
        get
        {
            string? explicitFolder = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrWhiteSpace(explicitFolder)) return Path.GetFullPath(explicitFolder);
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string root = !string.IsNullOrWhiteSpace(xdg) ? xdg : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "dotnet-dl-recipes");
        }
    }
}
