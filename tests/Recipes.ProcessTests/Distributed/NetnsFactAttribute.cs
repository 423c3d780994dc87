namespace Recipes.Tests.Distributed;

/// <summary>A test that runs processes on emulated hosts (<see cref="NetworkHosts"/>: network namespaces on a bridge, which
/// need root and iproute2): reported as skipped, saying what is missing, where they cannot be made. CI runs as root.</summary>
public sealed class NetnsFactAttribute : FactAttribute
{
    public NetnsFactAttribute()
    {
        if (NetworkHosts.WhyUnavailable() is string reason) Skip = $"{reason}: the tests across emulated hosts need it";
    }
}
