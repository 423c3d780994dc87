namespace Recipes.Runtime.Data;

/// <summary>
/// A data file that cannot be used as it is: truncated, wrong format, malformed row, bad checksum.
/// The message always names the file and the problem, so a recipe can print it as one line.
/// </summary>
public sealed class DataFileException : Exception
{
    public DataFileException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        FilePath = path;
        Problem = problem;
    }

    public string FilePath { get; }
    public string Problem { get; }
}
