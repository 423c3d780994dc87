using System.Globalization;
using System.Text;
using Recipes.Runtime.Data;
using Recipes.Runtime.IO;

namespace Recipes.AnomalyDetection;

/// <summary>
/// Reads and writes NAB's time-series CSV: a <c>timestamp,value</c> header, then one row per time step with
/// the timestamp as <c>yyyy-MM-dd HH:mm:ss</c> (fractional seconds and a <c>T</c> separator are accepted).
/// Every problem is reported as a <see cref="DataFileException"/> naming the file, the line and what is wrong.
/// </summary>
public static class TimeSeriesCsv
{
    public const string Header = "timestamp,value";
    public const string TimestampFormat = "yyyy-MM-dd HH:mm:ss";

    static readonly string[] AcceptedTimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF", "yyyy-MM-dd HH:mm",
    ];

    public static TimestampedSeries Read(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no such file");
        var timestamps = new List<DateTime>();
        var values = new List<double>();
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        string? header = reader.ReadLine();
        if (header is null) throw new DataFileException(path, "empty file (expected a 'timestamp,value' header)");
        string[] columns = header.Trim().Split(',');
        if (columns.Length != 2 || !columns[0].Trim().Equals("timestamp", StringComparison.OrdinalIgnoreCase)
            || !columns[1].Trim().Equals("value", StringComparison.OrdinalIgnoreCase))
            throw new DataFileException(path, $"line 1: header is '{Shorten(header)}', expected '{Header}'");

        int lineNumber = 1;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue; // a trailing blank line is common and harmless
            string[] fields = line.Split(',');
            if (fields.Length != 2)
                throw new DataFileException(path, $"line {lineNumber}: {fields.Length} fields, expected 2 ('{Shorten(line)}')");
            string timestampText = fields[0].Trim(), valueText = fields[1].Trim();
            if (!DateTime.TryParseExact(timestampText, AcceptedTimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var timestamp))
                throw new DataFileException(path, $"line {lineNumber}: '{Shorten(timestampText)}' is not a timestamp like 2014-07-01 00:30:00");
            if (!double.TryParse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
                throw new DataFileException(path, $"line {lineNumber}: '{Shorten(valueText)}' is not a finite number");
            if (timestamps.Count > 0 && timestamp <= timestamps[^1])
                throw new DataFileException(path, $"line {lineNumber}: timestamp {timestampText} does not come after {timestamps[^1].ToString(TimestampFormat, CultureInfo.InvariantCulture)} (rows must be in time order, without repeats)");
            timestamps.Add(timestamp);
            values.Add(value);
        }
        if (timestamps.Count == 0) throw new DataFileException(path, "no rows after the header");
        return new TimestampedSeries(Path.GetFileName(path), timestamps, values);
    }

    public static void Write(string path, TimestampedSeries series)
    {
        var text = new StringBuilder(series.Count * 28);
        text.Append(Header).Append('\n');
        for (int i = 0; i < series.Count; i++)
        {
            text.Append(series.Timestamps[i].ToString(TimestampFormat, CultureInfo.InvariantCulture)).Append(',')
                .Append(series.Values[i].ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        AtomicFile.WriteAllText(path, text.ToString());
    }

    static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
