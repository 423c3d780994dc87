// `dotnet cake --target=pack`: the runtime as NuGet packages, for recipes copied out of the repository
// (README, "Make it yours"). Every project under shared/ is a package (shared/Directory.Build.props).
//
//   dotnet cake --target=pack                               # artifacts/packages/Recipes.Runtime.0.1.0.nupkg, ...
//   dotnet cake --target=pack --package-version=0.2.0       # another version (all of them move together)
//   dotnet cake --target=pack --feed=/some/folder           # another folder

void PackRuntime(string configuration)
{
    string feed = MakeAbsolute(Directory(Argument("feed", "artifacts/packages"))).FullPath;
    string version = Argument("package-version", "");
    // The packages are built apart from the repository's own build (artifacts/pack-build): packing restores the
    // runtime without its platform's libtorch as a dependency (shared/Packaging/RuntimePackage.targets), and the
    // recipes' and tests' build in bin/ and obj/ stays as it was.
    string buildFolder = MakeAbsolute(Directory("artifacts/pack-build")).FullPath;
    var projects = GetFiles("./shared/**/*.csproj").Where(project => !project.FullPath.Contains("/bin/") && !project.FullPath.Contains("/obj/")).ToList();
    if (projects.Count == 0) throw new CakeException("no projects under shared/");
    foreach (var project in projects)
    {
        var msbuild = new DotNetMSBuildSettings().WithProperty("ArtifactsPath", buildFolder);
        if (version != "") msbuild = msbuild.WithProperty("RecipesPackageVersion", version);
        DotNetPack(project.FullPath, new DotNetPackSettings { Configuration = configuration, OutputDirectory = feed, MSBuildSettings = msbuild });
    }
    foreach (var package in GetFiles($"{feed}/*.nupkg").OrderBy(file => file.FullPath))
        Information("{0}  ({1:N1} MB)", package.GetFilename(), new FileInfo(package.FullPath).Length / 1e6);
    Information("feed: {0}; point a recipe copied out of the repository at it (README, \"Make it yours\")", feed);
}
