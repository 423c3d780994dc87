using Recipes.Build;

namespace Recipes.Tests.Build;

public class LibTorchSharpPatcherTests
{
    [Fact]
    public void TorchSharp_loads_and_computes_in_this_process()
    {
        // The patched (or, on new distributions, untouched) native library must load here.
        using var sum = TorchSharp.torch.arange(1, 11).sum();
        Assert.Equal(55, sum.item<long>());
    }

    [Fact]
    public void The_output_copy_no_longer_requires_a_version_the_system_lacks()
    {
        if (!OperatingSystem.IsLinux()) return; // the patch is for Linux's ELF libLibTorchSharp.so; other platforms have nothing to patch
        string? system = LibTorchSharpPatcher.FindSystemLibStdCxx();
        Assert.NotNull(system);
        string library = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        Assert.True(File.Exists(library), library);

        // Running the patcher again must find nothing left to do: either the build patched it or it never needed to.
        string copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(library, copy);
        try
        {
            var outcome = LibTorchSharpPatcher.PatchIfNeeded(copy, system!);
            Assert.NotEqual(LibTorchSharpPatcher.Outcome.Patched, outcome);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void Patching_the_pristine_library_removes_the_GLIBCXX_3_4_32_requirement_when_the_system_lacks_it()
    {
        if (!OperatingSystem.IsLinux()) return; // the patch is for Linux's ELF libLibTorchSharp.so; other platforms have nothing to patch
        string? system = LibTorchSharpPatcher.FindSystemLibStdCxx();
        Assert.NotNull(system);
        bool systemHasIt = LibTorchSharpPatcher.DefinedVersions(File.ReadAllBytes(system!)).Contains(LibTorchSharpPatcher.MissingVersion);

        string pristine = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
            ".nuget/packages/torchsharp/0.107.0/runtimes/linux-x64/native/libLibTorchSharp.so");
        if (!File.Exists(pristine)) return; // restored elsewhere (custom NUGET_PACKAGES); the load test above still covers us
        byte[] before = File.ReadAllBytes(pristine);
        Assert.True(ContainsAscii(before, LibTorchSharpPatcher.MissingVersion));

        string copy = Path.Combine(Path.GetTempPath(), $"libLibTorchSharp-{Guid.NewGuid():N}.so");
        File.Copy(pristine, copy);
        try
        {
            var outcome = LibTorchSharpPatcher.PatchIfNeeded(copy, system!);
            Assert.Equal(systemHasIt ? LibTorchSharpPatcher.Outcome.NotNeeded : LibTorchSharpPatcher.Outcome.Patched, outcome);
            byte[] after = File.ReadAllBytes(copy);
            Assert.Equal(before.Length, after.Length);
            // Only the version-need entry, one symbol-version slot and one symbol's binding may change.
            int changed = before.Zip(after).Count(pair => pair.First != pair.Second);
            Assert.InRange(changed, systemHasIt ? 0 : 1, 12);
        }
        finally { File.Delete(copy); }
    }

    [Fact]
    public void A_file_that_is_not_ELF_is_refused_with_a_clear_error()
    {
        if (!OperatingSystem.IsLinux()) return; // the patch is for Linux's ELF libLibTorchSharp.so; other platforms have nothing to patch
        string system = LibTorchSharpPatcher.FindSystemLibStdCxx()!;
        if (LibTorchSharpPatcher.DefinedVersions(File.ReadAllBytes(system)).Contains(LibTorchSharpPatcher.MissingVersion)) return;
        string bogus = Path.Combine(Path.GetTempPath(), $"not-elf-{Guid.NewGuid():N}.so");
        File.WriteAllText(bogus, "this is not a shared library");
        try
        {
            var error = Assert.Throws<InvalidDataException>(() => LibTorchSharpPatcher.PatchIfNeeded(bogus, system));
            Assert.Contains("not an ELF file", error.Message);
        }
        finally { File.Delete(bogus); }
    }

    static bool ContainsAscii(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(needle)) >= 0;
}
