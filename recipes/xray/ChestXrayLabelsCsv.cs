using System.Text;
using Recipes.Runtime.Data;

namespace Recipes.Xray;

/// <summary>
/// Reads the labels file of NIH ChestX-ray14 (<c>Data_Entry_2017.csv</c>, <c>Data_Entry_2017_v2020.csv</c> or a
/// file with a subset of their columns). Only three columns matter, found by name in the header in any order:
/// <c>Image Index</c>, <c>Finding Labels</c> and <c>Patient ID</c>; the others are ignored, including the
/// original file's unquoted <c>OriginalImage[Width,Height]</c>, which splits into extra fields. Every problem is a
/// <see cref="DataFileException"/> naming the file and the line.
/// </summary>
public static class ChestXrayLabelsCsv
{
    public const string ImageIndexColumn = "Image Index";
    public const string FindingLabelsColumn = "Finding Labels";
    public const string PatientIdColumn = "Patient ID";

    static readonly string[] RequiredColumns = [ImageIndexColumn, FindingLabelsColumn, PatientIdColumn];

    /// <summary>One data row: the image, its patient, its multi-hot labels and the line it came from (for errors
    /// found later, such as a missing image).</summary>
    public sealed record Row(string ImageIndex, string PatientId, float[] Labels, int Line);

    public static IReadOnlyList<Row> Read(string path)
    {
        if (!File.Exists(path)) throw new DataFileException(path, "no such file");
        using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        var fields = new List<string>();
        var quotedField = new StringBuilder();

        int lineNumber = 0;
        string? header = null;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Trim().Length > 0) { header = line; break; }
        }
        if (header is null)
            throw new DataFileException(path, $"empty file (expected a header with the columns {string.Join(", ", RequiredColumns)})");
        if (!CsvRecord.TrySplit(header, fields, quotedField))
            throw new DataFileException(path, $"line {lineNumber}: unterminated quoted field in the header");
        var headerNames = fields.Select(name => name.Trim()).ToList();
        int imageColumn = ColumnIndex(headerNames, ImageIndexColumn);
        int labelsColumn = ColumnIndex(headerNames, FindingLabelsColumn);
        int patientColumn = ColumnIndex(headerNames, PatientIdColumn);
        var missing = RequiredColumns.Where(column => ColumnIndex(headerNames, column) < 0).ToList();
        if (missing.Count > 0)
            throw new DataFileException(path,
                $"line {lineNumber}: no {string.Join(", ", missing.Select(name => $"'{name}'"))} column{(missing.Count > 1 ? "s" : "")} " +
                $"(the header has: {Shorten(string.Join(", ", headerNames))})");
        int fieldsNeeded = Math.Max(imageColumn, Math.Max(labelsColumn, patientColumn)) + 1;

        var rows = new List<Row>();
        var firstLineOf = new Dictionary<string, int>(StringComparer.Ordinal);
        // The 112,120 NIH rows hold fewer than a thousand distinct label texts: parse each once, copy it per row.
        var parsedLabels = new Dictionary<string, float[]>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue; // a trailing blank line is common and harmless
            if (!CsvRecord.TrySplit(line, fields, quotedField))
                throw new DataFileException(path, $"line {lineNumber}: unterminated quoted field in \"{Shorten(line)}\"");
            if (fields.Count < fieldsNeeded)
                throw new DataFileException(path,
                    $"line {lineNumber}: {fields.Count} field{(fields.Count == 1 ? "" : "s")}, but the header puts " +
                    $"'{headerNames[fieldsNeeded - 1]}' in field {fieldsNeeded} (\"{Shorten(line)}\")");

            string image = fields[imageColumn].Trim();
            if (image.Length == 0) throw new DataFileException(path, $"line {lineNumber}: the {ImageIndexColumn} is empty");
            // Images are found by file name anywhere under the data folder, so a path here could never match.
            if (image.IndexOfAny(['/', '\\']) >= 0)
                throw new DataFileException(path, $"line {lineNumber}: the {ImageIndexColumn} '{Shorten(image)}' is a path, expected a file name such as 00000001_000.png");
            string patient = fields[patientColumn].Trim();
            if (patient.Length == 0) throw new DataFileException(path, $"line {lineNumber}: the {PatientIdColumn} of {image} is empty");
            string labelText = fields[labelsColumn];
            if (!parsedLabels.TryGetValue(labelText, out float[]? labels))
            {
                try
                {
                    labels = ChestXrayFindings.Parse(labelText);
                }
                catch (FormatException error)
                {
                    throw new DataFileException(path, $"line {lineNumber}: {error.Message}", error);
                }
                parsedLabels.Add(labelText, labels);
            }
            if (!firstLineOf.TryAdd(image, lineNumber))
                throw new DataFileException(path, $"line {lineNumber}: image {image} appears again (first on line {firstLineOf[image]})");
            rows.Add(new Row(image, patient, (float[])labels.Clone(), lineNumber)); // each row owns its labels
        }
        if (rows.Count == 0) throw new DataFileException(path, "no image rows after the header");
        return rows;
    }

    static int ColumnIndex(List<string> headerNames, string column) =>
        headerNames.FindIndex(name => name.Equals(column, StringComparison.OrdinalIgnoreCase));

    static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";
}
