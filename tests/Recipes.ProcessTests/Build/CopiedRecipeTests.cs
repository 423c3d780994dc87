using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Recipes.Build;

namespace Recipes.Tests.Build;

/// <summary>
/// A recipe outside the repository, as a user makes one (README, "Make it yours"): the runtime packed into a feed,
/// recipes/mnist copied to a temporary folder with the one documented change to its project file, and a project
/// made by the `dotnet new recipe` template; each is built against the packages and trained briefly. Slow (the
/// runtime is packed once for the class, then each project is restored and built): a few minutes.
/// </summary>
public sealed class CopiedRecipeTests(RuntimePackageFeed feed) : IClassFixture<RuntimePackageFeed>
{
    static readonly TimeSpan BuildLimit = TimeSpan.FromMinutes(10);
    static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(5);

    [Fact]
    public void The_core_package_brings_the_consumers_libtorch_by_platform_and_the_native_fix_but_depends_on_no_platform()
    {
        string package = Path.Combine(feed.Feed, $"Recipes.Runtime.{feed.Version}.nupkg");
        Assert.True(File.Exists(package), $"{package} was not packed: {string.Join(", ", Directory.GetFiles(feed.Feed).Select(Path.GetFileName))}");
        using var zip = ZipFile.OpenRead(package);
        var entries = zip.Entries.Select(entry => entry.FullName).ToHashSet();
        foreach (string expected in new[] { "runtime.json", "buildTransitive/Recipes.Runtime.props", "buildTransitive/Recipes.Runtime.targets",
                     "buildTransitive/TorchSharpNativeFix.targets", "buildTransitive/LibTorchSharpPatcher.cs", "lib/net10.0/Recipes.Runtime.dll" })
            Assert.Contains(expected, entries);

        // The platform the package was built on must not leak into its dependencies (a Windows consumer would get
        // the Linux libtorch); TorchSharp itself is a dependency.
        string nuspec = Read(zip.Entries.Single(entry => entry.FullName.EndsWith(".nuspec", StringComparison.Ordinal)));
        Assert.DoesNotContain("libtorch-cpu", nuspec);
        Assert.Contains("id=\"TorchSharp\"", nuspec);

        // runtime.json: one libtorch per platform Directory.Packages.props has a version for, at that version.
        string centralVersions = File.ReadAllText(Path.Combine(feed.Repository, "Directory.Packages.props"));
        var expectedPlatforms = Regex.Matches(centralVersions, @"<PackageVersion Include=""libtorch-cpu-([a-z0-9-]+)"" Version=""([^""]+)""")
            .ToDictionary(match => match.Groups[1].Value, match => match.Groups[2].Value);
        Assert.Contains("linux-x64", expectedPlatforms.Keys);
        using var graph = JsonDocument.Parse(Read(zip.GetEntry("runtime.json")!));
        var runtimes = graph.RootElement.GetProperty("runtimes");
        Assert.Equal(expectedPlatforms.Count, runtimes.EnumerateObject().Count());
        foreach (var (platform, version) in expectedPlatforms)
            Assert.Equal(version, runtimes.GetProperty(platform).GetProperty("Recipes.Runtime").GetProperty($"libtorch-cpu-{platform}").GetString());
    }

    [Fact]
    public void Mnist_copied_out_of_the_repository_builds_against_the_packages_and_trains_an_epoch()
    {
        var (output, results) = CopyBuildAndRun("mnist", "Mnist.csproj", "--offline", "--epochs", "1", "--max-samples", "500");
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "metrics.json")));
        Assert.Equal("mnist", metrics.RootElement.GetProperty("recipe").GetString());
        Assert.Equal(1, metrics.RootElement.GetProperty("epochs").GetInt32());
        Assert.True(metrics.RootElement.GetProperty("metrics").TryGetProperty("test_accuracy", out _), metrics.RootElement.ToString());

        // The package's native fix ran on the copy's own output (where the system needs it), as the repository's
        // build does for the recipes inside it: patching again finds nothing to do.
        if (OperatingSystem.IsLinux() && LibTorchSharpPatcher.FindSystemLibStdCxx() is string system)
        {
            string glue = Path.Combine(feed.Root, "libLibTorchSharp-copy.so");
            File.Copy(Path.Combine(output, "libLibTorchSharp.so"), glue, overwrite: true);
            Assert.NotEqual(LibTorchSharpPatcher.Outcome.Patched, LibTorchSharpPatcher.PatchIfNeeded(glue, system));
        }
    }

    [Fact]
    public void Transfer_learning_copied_out_of_the_repository_finds_the_pretrained_ResNet_18_and_trains_its_head()
    {
        // The vision recipes start from the ImageNet ResNet-18, whose files come from a package of their own that
        // the recipe's project names: copied out, the recipe must still find them in its output folder.
        var (output, results) = CopyBuildAndRun("transfer-learning", "TransferLearning.csproj",
            "--offline", "--epochs", "1", "--batch-size", "8", "--max-samples", "16");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(output, "DnnImageModels"), "*.onnx", SearchOption.AllDirectories));
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "metrics.json")));
        Assert.Equal("transfer-learning", metrics.RootElement.GetProperty("recipe").GetString());
        Assert.True(metrics.RootElement.GetProperty("metrics").TryGetProperty("test_accuracy", out _), metrics.RootElement.ToString());
        Assert.True(File.Exists(Path.Combine(results, "model.bin")));
    }

    /// <summary>Copies recipes/<paramref name="recipe"/> out of the repository, applies the documented change to its
    /// project file, builds it against the packed runtime and runs it with <paramref name="arguments"/>; returns its
    /// output folder and the folder its results went to.</summary>
    (string Output, string Results) CopyBuildAndRun(string recipe, string projectFile, params string[] arguments)
    {
        string copy = Path.Combine(feed.Root, recipe);
        CopyFolder(Path.Combine(feed.Repository, "recipes", recipe), copy);
        ApplyTheDocumentedChange(Path.Combine(copy, projectFile));

        var build = feed.Dotnet(copy, BuildLimit, "build", "-c", "Release", "--disable-build-servers", "-nodeReuse:false");
        Assert.True(build.ExitCode == 0, $"dotnet build of the copied {recipe} failed:\n" + build.Output + build.Errors);
        string output = Path.Combine(copy, "bin", "Release", "net10.0");
        string assembly = Path.Combine(output, recipe + ".dll");
        Assert.True(File.Exists(assembly), build.Output);

        string results = Path.Combine(feed.Root, recipe + "-results");
        var run = feed.Dotnet(copy, RunLimit, [assembly, .. arguments, "--output", results, "--cache", Path.Combine(feed.Root, "cache")]);
        Assert.True(run.ExitCode == 0, $"the copied {recipe} failed:\n" + run.Output + run.Errors);
        return (output, results);
    }

    [Fact]
    public void The_dotnet_new_template_makes_a_recipe_that_builds_against_the_packages_and_learns()
    {
        // The template references the version a user's pack writes unless told otherwise.
        using (var template = JsonDocument.Parse(File.ReadAllText(Path.Combine(feed.Repository, "templates", "recipe", ".template.config", "template.json"))))
            Assert.Equal(feed.DefaultVersion, template.RootElement.GetProperty("symbols").GetProperty("RuntimeVersion").GetProperty("defaultValue").GetString());

        string hive = Path.Combine(feed.Root, "template-hive");
        var install = feed.Dotnet(feed.Root, BuildLimit, "new", "install", Path.Combine(feed.Repository, "templates", "recipe"), "--debug:custom-hive", hive);
        Assert.True(install.ExitCode == 0, "dotnet new install failed:\n" + install.Output + install.Errors);

        // A name of the user's own: the template renames the project, its namespace and its recipe name.
        string app = Path.Combine(feed.Root, "SpiralLesson");
        var create = feed.Dotnet(feed.Root, BuildLimit, "new", "recipe", "-n", "SpiralLesson", "-o", app,
            "--RuntimeVersion", feed.Version, "--debug:custom-hive", hive);
        Assert.True(create.ExitCode == 0, "dotnet new recipe failed:\n" + create.Output + create.Errors);
        Assert.True(File.Exists(Path.Combine(app, "SpiralLesson.csproj")), string.Join(", ", Directory.GetFiles(app).Select(Path.GetFileName)));
        string program = File.ReadAllText(Path.Combine(app, "Program.cs"));
        Assert.DoesNotContain("MyRecipe", program);
        foreach (string step in new[] { "1. Data", "2. Features", "3. Model", "4. Optimizer", "5. Training", "6. Evaluation", "7. Save", "8. Predict" })
            Assert.Contains($"// {step}", program);

        var build = feed.Dotnet(app, BuildLimit, "build", "-c", "Release", "--disable-build-servers", "-nodeReuse:false");
        Assert.True(build.ExitCode == 0, "dotnet build of the new recipe failed:\n" + build.Output + build.Errors);

        string results = Path.Combine(feed.Root, "spiral-results");
        var run = feed.Dotnet(app, RunLimit, Path.Combine(app, "bin", "Release", "net10.0", "SpiralLesson.dll"),
            "--epochs", "15", "--output", results);
        Assert.True(run.ExitCode == 0, "the new recipe failed:\n" + run.Output + run.Errors);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "metrics.json")));
        Assert.Equal("spirallesson", metrics.RootElement.GetProperty("recipe").GetString());
        Assert.Equal("generated", metrics.RootElement.GetProperty("data_source").GetString());
        // Three classes: chance is 1/3 and no straight line does much better, so 0.7 means the hidden layers learned
        // the spirals (0.97 after 15 epochs here; the margin covers other seeds and thread counts).
        double accuracy = metrics.RootElement.GetProperty("metrics").GetProperty("test_accuracy").GetDouble();
        Assert.True(accuracy > 0.7, $"test accuracy {accuracy}: the template's network did not learn\n{run.Output}");
        foreach (string file in new[] { "model.bin", "model.json", "training.png", "checkpoint/latest.ckpt" })
            Assert.True(File.Exists(Path.Combine(results, file)), file);
    }

    /// <summary>What README "Make it yours" tells a user to do: replace the ItemGroup of ProjectReferences by the
    /// commented-out ItemGroup of PackageReferences beside it. Then, for this test only, the version of the
    /// packages this test packed instead of the released one.</summary>
    void ApplyTheDocumentedChange(string project)
    {
        var document = XDocument.Load(project, LoadOptions.PreserveWhitespace);
        var root = document.Root!;
        var projectReferences = root.Elements("ItemGroup").Where(group => group.Elements("ProjectReference").Any()).ToList();
        var referenced = projectReferences.SelectMany(group => group.Elements("ProjectReference"))
            .Select(reference => Path.GetFileNameWithoutExtension(reference.Attribute("Include")!.Value)).ToList();
        Assert.NotEmpty(referenced);
        var alternative = root.Nodes().OfType<XComment>().SingleOrDefault(comment => comment.Value.Contains("<PackageReference", StringComparison.Ordinal));
        Assert.True(alternative is not null, $"{project}: no commented-out ItemGroup of PackageReferences to switch to");
        var packageGroup = XElement.Parse(alternative!.Value.Trim());
        var packages = packageGroup.Elements("PackageReference").ToList();
        static string Name(XElement reference) => reference.Attribute("Include")!.Value;
        var runtimePackages = packages.Where(package => Name(package).StartsWith("Recipes.", StringComparison.Ordinal)).ToList();
        // Every project the recipe referenced is there as a package of the same name, at the version the runtime is packed at.
        Assert.Equal(referenced.OrderBy(name => name), runtimePackages.Select(Name).OrderBy(name => name));
        foreach (var package in runtimePackages)
        {
            Assert.Equal(feed.DefaultVersion, package.Attribute("Version")!.Value);
            package.SetAttributeValue("Version", feed.Version);
        }
        // Any other package of the replaced group (the ResNet-18 files) is there too, now with its version: outside
        // the repository no Directory.Packages.props gives it one.
        var otherPackages = projectReferences.SelectMany(group => group.Elements("PackageReference")).Select(Name).ToList();
        Assert.Equal(otherPackages.OrderBy(name => name), packages.Except(runtimePackages).Select(Name).OrderBy(name => name));
        foreach (var package in packages.Except(runtimePackages))
            Assert.False(string.IsNullOrEmpty(package.Attribute("Version")?.Value), $"{Name(package)} has no version");
        alternative.ReplaceWith(packageGroup);
        foreach (var group in projectReferences) group.Remove();
        document.Save(project);
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(from, file);
            string first = relative.Split(Path.DirectorySeparatorChar)[0];
            if (first is "bin" or "obj" or "artifacts") continue; // build outputs and results are not part of a recipe
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(to, relative))!);
            File.Copy(file, Path.Combine(to, relative));
        }
    }

    static string Read(ZipArchiveEntry entry)
    {
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }
}

/// <summary>
/// The runtime packed once for <see cref="CopiedRecipeTests"/> into a feed in a temporary folder, with a nuget.config
/// there that lists it beside the machine's own sources. The packages get a version of their own, and restores
/// extract into a packages folder of their own (the machine's global one only serves as a read-only fallback for
/// TorchSharp and the rest): a package of an earlier run, or one a user restored, is never taken for this one, and
/// nothing is left behind.
/// </summary>
public sealed class RuntimePackageFeed : IDisposable
{
    static readonly TimeSpan PackLimit = TimeSpan.FromMinutes(15);

    public RuntimePackageFeed()
    {
        Repository = FindRepository();
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(Feed);
        DefaultVersion = Regex.Match(File.ReadAllText(Path.Combine(Repository, "shared", "Directory.Build.props")),
            @"<RecipesPackageVersion[^>]*>([^<]+)</RecipesPackageVersion>").Groups[1].Value;
        Assert.False(string.IsNullOrEmpty(DefaultVersion), "shared/Directory.Build.props sets no RecipesPackageVersion");
        Version = $"{DefaultVersion}-test.{DateTime.UtcNow:yyyyMMddHHmmss}";

        var locals = Dotnet(Repository, TimeSpan.FromMinutes(1), "nuget", "locals", "global-packages", "--list");
        string machinePackages = Regex.Match(locals.Output, @"global-packages:\s*(.+)").Groups[1].Value.Trim();
        Assert.True(Directory.Exists(machinePackages), $"no global packages folder: {locals.Output}{locals.Errors}");
        // No <clear/>: the machine's own sources (its NuGet mirror) still count, after this feed.
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(Root, "packages")}" />
              </config>
              <packageSources>
                <add key="recipes-runtime-under-test" value="{Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);

        foreach (string project in Directory.EnumerateFiles(Path.Combine(Repository, "shared"), "*.csproj", SearchOption.AllDirectories)
                     .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}") && !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")))
        {
            // Built apart (ArtifactsPath) so that the repository's bin/ and obj/, which the other tests use, stay as they are.
            var pack = Dotnet(Repository, PackLimit, "pack", project, "-c", "Release", "-o", Feed, $"-p:ArtifactsPath={Path.Combine(Root, "pack-build")}",
                $"-p:RecipesPackageVersion={Version}", "--disable-build-servers", "-nodeReuse:false");
            Assert.True(pack.ExitCode == 0, $"dotnet pack {project} failed:\n{pack.Output}{pack.Errors}");
        }
    }

    public string Repository { get; }
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"recipes-copied-{Guid.NewGuid():N}");
    public string Feed => Path.Combine(Root, "feed");
    /// <summary>The version a user's pack gets (shared/Directory.Build.props), which the recipes' commented references name.</summary>
    public string DefaultVersion { get; }
    /// <summary>This run's version of the packages.</summary>
    public string Version { get; }

    public sealed record Outcome(int ExitCode, string Output, string Errors);

    /// <summary>Runs dotnet with <paramref name="arguments"/> in <paramref name="workingDirectory"/>, stopping it (and
    /// whatever it started) after <paramref name="limit"/>.</summary>
    public Outcome Dotnet(string workingDirectory, TimeSpan limit, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        // Not the test run's own MSBuild settings; and under Root, not a packages folder that would override the one
        // of Root's nuget.config (in the repository, packing restores as the repository's build does).
        bool underRoot = Path.GetFullPath(workingDirectory).StartsWith(Root, StringComparison.Ordinal);
        foreach (string name in start.Environment.Keys.Where(name => name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)
                     || (underRoot && name.Equals("NUGET_PACKAGES", StringComparison.OrdinalIgnoreCase))).ToList())
            start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"dotnet {string.Join(' ', arguments)} did not finish within {limit}:\n{output.Result}");
        }
        process.WaitForExit();
        return new Outcome(process.ExitCode, output.Result, errors.Result);
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }

    static string FindRepository()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "Recipes.sln")) && Directory.Exists(Path.Combine(folder.FullName, "shared")))
                return folder.FullName;
        throw new InvalidOperationException($"no repository (Recipes.sln) above {AppContext.BaseDirectory}");
    }
}
