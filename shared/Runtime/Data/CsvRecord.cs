using System.Text;

namespace Recipes.Runtime.Data;

/// <summary>
/// Splits one line of a CSV file into its fields, with RFC 4180 quoting ("a, b" keeps its comma, a doubled ""
/// inside quotes is one quote). Readers call it line by line so they can name the file and line of a bad record.
/// </summary>
public static class CsvRecord
{
    /// <summary>
    /// Fills <paramref name="fields"/> with the fields of <paramref name="line"/> (a trailing '\r' is dropped); false
    /// when a quote is left open. <paramref name="scratch"/> is reused between calls to spare allocations. Lines without
    /// quotes, most lines of most files, take a cheaper path.
    /// </summary>
    public static bool TrySplit(string line, List<string> fields, StringBuilder scratch)
    {
        fields.Clear();
        if (line.EndsWith('\r')) line = line[..^1];
        if (!line.Contains('"'))
        {
            int start = 0;
            while (true)
            {
                int comma = line.IndexOf(',', start);
                if (comma < 0) { fields.Add(line[start..]); return true; }
                fields.Add(line[start..comma]);
                start = comma + 1;
            }
        }
        scratch.Clear();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c != '"') scratch.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') { scratch.Append('"'); i++; }
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(scratch.ToString()); scratch.Clear(); }
            else scratch.Append(c);
        }
        if (quoted) return false;
        fields.Add(scratch.ToString());
        return true;
    }
}
