using System.Collections;
using Recipes.Serving;

namespace Recipes.Tests.Serving;

public sealed class NativeAllocatorTests
{
    [Fact]
    public void Serving_on_glibc_applies_two_arenas_and_a_fixed_1_MiB_mmap_threshold_and_says_so()
    {
        var decision = NativeAllocator.Decide(isGlibcLinux: true, new Hashtable { ["PATH"] = "/usr/bin" });

        Assert.NotNull(decision);
        Assert.True(decision.Apply);
        Assert.Equal(2, NativeAllocator.ServingArenas);
        Assert.Equal(1 << 20, NativeAllocator.ServingMmapThresholdBytes);
        Assert.Contains("2 arenas", decision.Description);
        Assert.Contains("1 MiB", decision.Description);
    }

    [Theory]
    [InlineData("MALLOC_ARENA_MAX")]
    [InlineData("MALLOC_MMAP_THRESHOLD_")]
    public void A_user_who_set_either_glibc_variable_keeps_the_allocator_as_set(string variable)
    {
        var decision = NativeAllocator.Decide(isGlibcLinux: true, new Hashtable { [variable] = "4" });

        Assert.NotNull(decision);
        Assert.False(decision.Apply);
        Assert.Contains(variable, decision.Description);
    }

    [Fact]
    public void Without_glibc_nothing_is_changed_or_said()
    {
        Assert.Null(NativeAllocator.Decide(isGlibcLinux: false, new Hashtable()));
    }
}
