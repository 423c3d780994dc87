namespace Recipes.Tests.Mnist;

/// <summary>
/// A test that stops a child process with SIGINT: reported as skipped where this process ignores SIGINT. A shell
/// without job control starts background commands (<c>cmd &amp;</c>, nohup) with SIGINT ignored, the children inherit
/// that, and .NET rightly leaves an inherited ignored SIGINT alone, so the recipe would never see the signal.
/// </summary>
public sealed class SigintFactAttribute : FactAttribute
{
    public SigintFactAttribute()
    {
        if (SigintIgnored()) Skip = "SIGINT is ignored in this process (started in the background by a shell?), so a child cannot receive it";
    }

    static bool SigintIgnored()
    {
        if (!OperatingSystem.IsLinux()) return false;
        // SigIgn: the ignored signals as a hex mask, bit n-1 for signal n; SIGINT is 2.
        string? mask = File.ReadLines("/proc/self/status").FirstOrDefault(line => line.StartsWith("SigIgn:", StringComparison.Ordinal));
        return mask is not null && (Convert.ToUInt64(mask["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
    }
}
