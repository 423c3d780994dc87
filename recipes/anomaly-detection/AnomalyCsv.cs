using System.Globalization;
using System.Text;
using Recipes.Runtime.IO;

namespace Recipes.AnomalyDetection;

/// <summary>
/// Writes the flagged points of an <see cref="AnomalyChartData"/> as CSV, one row per anomaly:
/// <c>timestamp,value,forecast,error,in_window</c> (in_window is empty when no labels are known).
/// </summary>
public static class AnomalyCsv
{
    public const string FileName = "anomalies.csv";
    public const string Header = "timestamp,value,forecast,error,in_window";

    public static int Write(string path, AnomalyChartData data, bool windowsKnown)
    {
        var csv = new StringBuilder(Header).Append('\n');
        int rows = 0;
        for (int i = 0; i < data.ScoredRows.Count; i++)
        {
            if (!data.Flags[i]) continue;
            int row = data.ScoredRows[i];
            DateTime time = data.Series.Timestamps[row];
            string inWindow = windowsKnown ? (data.Windows.Any(window => window.Contains(time)) ? "true" : "false") : "";
            csv.Append(time.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)).Append(',')
               .Append(data.Series.Values[row].ToString("R", CultureInfo.InvariantCulture)).Append(',')
               .Append(data.Predicted[i].ToString("F1", CultureInfo.InvariantCulture)).Append(',')
               .Append(data.Errors[i].ToString("G6", CultureInfo.InvariantCulture)).Append(',')
               .Append(inWindow).Append('\n');
            rows++;
        }
        AtomicFile.WriteAllText(path, csv.ToString());
        return rows;
    }
}
