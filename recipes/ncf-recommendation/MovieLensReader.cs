using System.Globalization;
using System.Text;
using Recipes.Runtime.Data;

namespace Recipes.NcfRecommendation;

/// <summary>
/// Reads MovieLens ratings and movie lists in the three layouts GroupLens publishes (see
/// <see cref="MovieLensFormat"/>). Every field is checked; the first malformed line ends the read with a
/// <see cref="DataFileException"/> naming the file, the line number and what is wrong with it.
/// </summary>
public static class MovieLensReader
{
    /// <summary>The 19 genres of ML-100K's <c>u.item</c>, in the order of its 0/1 columns (from its <c>u.genre</c>).</summary>
    public static readonly IReadOnlyList<string> HundredThousandGenres =
    [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
        "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ];

    const string RatingsCsvHeader = "userId,movieId,rating,timestamp";
    const string MoviesCsvHeader = "movieId,title,genres";

    public static string RatingsFileName(MovieLensFormat format) => format switch
    {
        MovieLensFormat.DoubleColon => "ratings.dat",
        MovieLensFormat.HundredThousand => "u.data",
        _ => "ratings.csv",
    };

    public static string MoviesFileName(MovieLensFormat format) => format switch
    {
        MovieLensFormat.DoubleColon => "movies.dat",
        MovieLensFormat.HundredThousand => "u.item",
        _ => "movies.csv",
    };

    /// <summary>The older layouts are Latin-1 (titles such as "Amélie"); the CSV layout is UTF-8.</summary>
    public static Encoding EncodingOf(MovieLensFormat format) => format == MovieLensFormat.Csv ? new UTF8Encoding(false) : Encoding.Latin1;

    /// <summary>Whole stars up to ML-10M's predecessors; half stars in the CSV releases.</summary>
    public static RatingScale ScaleOf(MovieLensFormat format) => format == MovieLensFormat.Csv ? RatingScale.HalfStars : RatingScale.WholeStars;

    public static IReadOnlyList<MovieRating> ReadRatings(string path, MovieLensFormat format)
    {
        using var reader = OpenText(path, format);
        return ReadRatings(reader, path, format);
    }

    public static IReadOnlyList<Movie> ReadMovies(string path, MovieLensFormat format)
    {
        using var reader = OpenText(path, format);
        return ReadMovies(reader, path, format);
    }

    /// <param name="source">The file's name for error messages.</param>
    public static IReadOnlyList<MovieRating> ReadRatings(TextReader reader, string source, MovieLensFormat format)
    {
        var scale = ScaleOf(format);
        string separator = format switch { MovieLensFormat.DoubleColon => "::", MovieLensFormat.HundredThousand => "\t", _ => "," };
        string layout = format switch
        {
            MovieLensFormat.DoubleColon => "UserID::MovieID::Rating::Timestamp",
            MovieLensFormat.HundredThousand => "user id, item id, rating, timestamp separated by tabs",
            _ => RatingsCsvHeader,
        };
        var ratings = new List<MovieRating>();
        Span<Range> fields = stackalloc Range[5];
        int lineNumber = 0;
        if (format == MovieLensFormat.Csv) ExpectHeader(reader, source, RatingsCsvHeader, ref lineNumber);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            ReadOnlySpan<char> text = line.AsSpan().TrimEnd('\r');
            if (text.Split(fields, separator) != 4)
                throw LineError(source, lineNumber, $"expected 4 fields ({layout}), found \"{Shorten(line)}\"");
            int user = NonNegativeId(text[fields[0]], "user id", source, lineNumber);
            int movie = NonNegativeId(text[fields[1]], "movie id", source, lineNumber);
            var starsText = text[fields[2]].Trim();
            if (!double.TryParse(starsText, NumberStyles.Float, CultureInfo.InvariantCulture, out double stars) || !scale.Allows(stars))
                throw LineError(source, lineNumber, $"rating \"{starsText}\" is not on the scale {scale}");
            var timeText = text[fields[3]].Trim();
            if (!long.TryParse(timeText, NumberStyles.Integer, CultureInfo.InvariantCulture, out long timestamp) || timestamp < 0)
                throw LineError(source, lineNumber, $"timestamp \"{timeText}\" is not a Unix time in seconds");
            ratings.Add(new MovieRating(user, movie, (float)stars, timestamp));
        }
        return ratings;
    }

    /// <param name="source">The file's name for error messages.</param>
    public static IReadOnlyList<Movie> ReadMovies(TextReader reader, string source, MovieLensFormat format)
    {
        var movies = new List<Movie>();
        var firstLineOf = new Dictionary<int, int>();
        int lineNumber = 0;
        if (format == MovieLensFormat.Csv) ExpectHeader(reader, source, MoviesCsvHeader, ref lineNumber);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var movie = format switch
            {
                MovieLensFormat.DoubleColon => ParseDoubleColonMovie(line.TrimEnd('\r'), source, lineNumber),
                MovieLensFormat.HundredThousand => ParseHundredThousandMovie(line.TrimEnd('\r'), source, lineNumber),
                _ => ParseCsvMovie(line.TrimEnd('\r'), source, lineNumber),
            };
            if (!firstLineOf.TryAdd(movie.Id, lineNumber))
                throw LineError(source, lineNumber, $"movie id {movie.Id} appears again (first on line {firstLineOf[movie.Id]})");
            movies.Add(movie);
        }
        return movies;
    }

    static Movie ParseDoubleColonMovie(string line, string source, int lineNumber)
    {
        string[] fields = line.Split("::");
        if (fields.Length != 3)
            throw LineError(source, lineNumber, $"expected 3 fields (MovieID::Title::Genres), found \"{Shorten(line)}\"");
        return new Movie(NonNegativeId(fields[0], "movie id", source, lineNumber), Title(fields[1], source, lineNumber), Genres(fields[2]));
    }

    static Movie ParseHundredThousandMovie(string line, string source, int lineNumber)
    {
        string[] fields = line.Split('|');
        int expected = 5 + HundredThousandGenres.Count;
        if (fields.Length != expected)
            throw LineError(source, lineNumber, $"expected {expected} fields (id|title|release date|video release date|IMDb URL|19 genre flags), found {fields.Length}");
        var genres = new List<string>();
        for (int g = 0; g < HundredThousandGenres.Count; g++)
        {
            string flag = fields[5 + g].Trim();
            if (flag == "1") genres.Add(HundredThousandGenres[g]);
            else if (flag != "0") throw LineError(source, lineNumber, $"genre flag \"{flag}\" for {HundredThousandGenres[g]} is not 0 or 1");
        }
        return new Movie(NonNegativeId(fields[0], "movie id", source, lineNumber), Title(fields[1], source, lineNumber), genres);
    }

    static Movie ParseCsvMovie(string line, string source, int lineNumber)
    {
        var fields = SplitCsv(line) ?? throw LineError(source, lineNumber, $"unterminated quoted field in \"{Shorten(line)}\"");
        if (fields.Count != 3)
            throw LineError(source, lineNumber, $"expected 3 fields ({MoviesCsvHeader}), found {fields.Count}");
        return new Movie(NonNegativeId(fields[0], "movie id", source, lineNumber), Title(fields[1], source, lineNumber), Genres(fields[2]));
    }

    /// <summary>Splits one CSV record (RFC 4180 quoting: "a, b" and doubled "" inside quotes); null when a quote is left open.</summary>
    static List<string>? SplitCsv(string line)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"') field.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(c);
        }
        if (quoted) return null;
        fields.Add(field.ToString());
        return fields;
    }

    static IReadOnlyList<string> Genres(string field) =>
        field.Trim() is "" or "(no genres listed)" ? [] : field.Trim().Split('|');

    static string Title(string field, string source, int lineNumber) =>
        field.Trim() is { Length: > 0 } title ? title : throw LineError(source, lineNumber, "the title is empty");

    static int NonNegativeId(ReadOnlySpan<char> field, string what, string source, int lineNumber)
    {
        var text = field.Trim();
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) || id < 0)
            throw LineError(source, lineNumber, $"{what} \"{text}\" is not a non-negative whole number");
        return id;
    }

    static void ExpectHeader(TextReader reader, string source, string header, ref int lineNumber)
    {
        string? first = reader.ReadLine();
        lineNumber++;
        if (first is null) throw new DataFileException(source, $"empty file (expected the header {header})");
        if (first.TrimStart('\uFEFF').TrimEnd('\r').Trim() != header)
            throw LineError(source, lineNumber, $"expected the header \"{header}\", found \"{Shorten(first)}\"");
    }

    static StreamReader OpenText(string path, MovieLensFormat format)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "file not found");
        return new StreamReader(path, EncodingOf(format), detectEncodingFromByteOrderMarks: false);
    }

    static DataFileException LineError(string source, int lineNumber, string problem) => new(source, $"line {lineNumber}: {problem}");

    static string Shorten(ReadOnlySpan<char> line) => line.Length <= 80 ? line.ToString() : $"{line[..77]}...";
}
