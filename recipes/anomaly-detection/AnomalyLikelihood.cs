namespace Recipes.AnomalyDetection;

/// <summary>
/// Numenta's "anomaly likelihood" (Ahmad et al. 2017, as used by their NAB detector), for any raw anomaly
/// score such as a forecast error: average the raw score over a short recent window, model the history of
/// those averages as a Gaussian, and report how far in its upper tail the latest average lies. A detector
/// thresholded on this adapts to how large errors usually are (a noisy stretch raises the bar) instead of
/// flagging a fixed share of points.
/// </summary>
/// <param name="AveragingWindow">Raw scores averaged into the short-term score (Numenta: 10).</param>
/// <param name="HistoryLength">Past short-term scores the Gaussian is estimated from (Numenta: 8,640).</param>
/// <param name="MinimumHistory">Short-term scores needed before any likelihood is given.</param>
public sealed record AnomalyLikelihood(int AveragingWindow = 10, int HistoryLength = 8640, int MinimumHistory = 336)
{
    /// <summary>
    /// For each row, the probability that a Gaussian fitted to the earlier short-term scores gives a value at
    /// least as large as this row's short-term score: small means surprising. NaN where the raw score is NaN
    /// (no forecast) or the history is still too short. Only rows before t enter the Gaussian of row t.
    /// </summary>
    public double[] TailProbabilities(IReadOnlyList<double> rawScores)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(AveragingWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MinimumHistory, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(HistoryLength, MinimumHistory);
        int n = rawScores.Count;
        var shortTerm = new double[n];
        var tail = new double[n];
        Array.Fill(shortTerm, double.NaN);
        Array.Fill(tail, double.NaN);

        // Short-term average over the last AveragingWindow raw scores, once that many exist in a row.
        double windowSum = 0;
        int run = 0;
        for (int t = 0; t < n; t++)
        {
            double raw = rawScores[t];
            if (double.IsNaN(raw)) { windowSum = 0; run = 0; continue; }
            windowSum += raw;
            run++;
            if (run > AveragingWindow) { windowSum -= rawScores[t - AveragingWindow]; run = AveragingWindow; }
            if (run == AveragingWindow) shortTerm[t] = windowSum / AveragingWindow;
        }

        // Rolling mean and variance of the short-term scores of the previous HistoryLength rows.
        var history = new Queue<double>();
        double sum = 0, sumSquares = 0;
        for (int t = 0; t < n; t++)
        {
            double value = shortTerm[t];
            if (double.IsNaN(value)) continue;
            if (history.Count >= MinimumHistory)
            {
                double mean = sum / history.Count;
                double variance = Math.Max(sumSquares / history.Count - mean * mean, 0);
                // A floor keeps a perfectly flat history from making every change infinitely unlikely.
                double std = Math.Sqrt(Math.Max(variance, 1e-12 + 1e-6 * mean * mean));
                tail[t] = UpperTail((value - mean) / std);
            }
            history.Enqueue(value);
            sum += value;
            sumSquares += value * value;
            if (history.Count > HistoryLength)
            {
                double old = history.Dequeue();
                sum -= old;
                sumSquares -= old * old;
            }
        }
        return tail;
    }

    /// <summary>P(Z >= z) for a standard normal Z, accurate in the far tail (where 1 - CDF would round to 0).</summary>
    public static double UpperTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    // Complementary error function by the Chebyshev fit of Press et al., Numerical Recipes (2nd ed.) section 6.2:
    // fractional error below 1.2e-7 everywhere, which is ample for thresholds like 1e-5.
    static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double result = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                        t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? result : 2 - result;
    }
}

/// <summary>
/// Turns tail probabilities into alarms, one per event: an alarm when the probability falls to the threshold,
/// then silence for a while. NAB counts only the earliest detection in a window and charges every alarm
/// outside one, so a burst of alarms on one event can only cost.
/// </summary>
public static class AlarmPolicy
{
    public static bool[] Alarms(IReadOnlyList<double> tailProbabilities, double threshold, int quietRows)
    {
        if (!(threshold > 0 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "the tail-probability threshold must be in (0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegative(quietRows);
        var alarms = new bool[tailProbabilities.Count];
        int last = int.MinValue / 2;
        for (int t = 0; t < alarms.Length; t++)
        {
            if (!(tailProbabilities[t] <= threshold) || t - last <= quietRows) continue;
            alarms[t] = true;
            last = t;
        }
        return alarms;
    }
}
