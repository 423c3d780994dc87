using System.Text.Json;
using System.Text.Json.Nodes;
using Recipes.Runtime.IO;
using Recipes.Runtime.Recipes;
using Recipes.Runtime.Training;

namespace Recipes.Runtime.Distributed;

/// <summary>
/// A distributed job's result, taken from one of its processes (all end with the same weights) and put where a local
/// run writes it: the job's <c>--output</c>. Every process trains in its own folder (<c>workers/&lt;k&gt;</c>), which
/// keeps its checkpoints for a resume; the result is that folder's other files, and in metrics.json the paths into
/// the process's folder are made to name the copies, <c>master</c> names the job's master, and a <c>cluster</c>
/// object says which process the result came from.
/// </summary>
public static class JobResultFolder
{
    /// <summary>The result files of a process's output folder, relative with '/', sorted: all but checkpoint folders
    /// (any folder holding a <see cref="TrainingCheckpoint.FileName"/>) and hidden files (half-written temporaries).</summary>
    public static List<string> Files(string folder)
    {
        var files = new List<string>();
        if (!Directory.Exists(folder)) return files;
        var pending = new Stack<string>([folder]);
        while (pending.Count > 0)
        {
            string current = pending.Pop();
            if (File.Exists(Path.Combine(current, TrainingCheckpoint.FileName))) continue;
            foreach (string file in Directory.GetFiles(current))
                if (!Path.GetFileName(file).StartsWith('.')) files.Add(Path.GetRelativePath(folder, file).Replace('\\', '/'));
            foreach (string child in Directory.GetDirectories(current))
                if (!Path.GetFileName(child).StartsWith('.')) pending.Push(child);
        }
        files.Sort(StringComparer.Ordinal);
        return files;
    }

    /// <summary>metrics.json of process <paramref name="process"/> (in <paramref name="processFolder"/>) as the job's,
    /// in <paramref name="jobFolder"/>.</summary>
    public static string RewriteMetrics(string json, string processFolder, string jobFolder, string master, int process)
    {
        var root = JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{RunReport.FileName} of {processFolder} is not a JSON object");
        string from = Path.GetFullPath(processFolder).TrimEnd(Path.DirectorySeparatorChar);
        string to = Path.GetFullPath(jobFolder).TrimEnd(Path.DirectorySeparatorChar);
        Rebase(root, from, to);
        if (root.ContainsKey("master")) root["master"] = master;
        root["cluster"] = new JsonObject { ["master"] = master, ["results_from_worker"] = process, ["worker_folder"] = from };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Copies the result of a process whose folder is on this machine (an MPI rank) into the job's folder,
    /// each file atomically and metrics.json last, so that when it is there the files it names are too.</summary>
    public static int CopyInto(string processFolder, string jobFolder, string master, int process)
    {
        var files = Files(processFolder);
        foreach (string relative in files.OrderBy(path => IsMetrics(path) ? 1 : 0))
        {
            string source = Path.Combine(processFolder, relative), target = Path.Combine(jobFolder, relative);
            if (IsMetrics(relative))
                AtomicFile.WriteAllText(target, RewriteMetrics(File.ReadAllText(source), processFolder, jobFolder, master, process));
            else
                AtomicFile.Write(target, stream =>
                {
                    using var input = File.OpenRead(source);
                    input.CopyTo(stream);
                });
        }
        return files.Count;
    }

    /// <summary>A run's metrics.json, in its output folder or a subfolder (a recipe with modes writes one per mode).</summary>
    public static bool IsMetrics(string relativePath) => Path.GetFileName(relativePath) == RunReport.FileName;

    /// <summary>Every string value that is a path in <paramref name="from"/> now names the same file in <paramref name="to"/>.</summary>
    static void Rebase(JsonNode? node, string from, string to)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (string key in obj.Select(pair => pair.Key).ToList())
                {
                    if (Rebased(obj[key], from, to) is string path) obj[key] = path;
                    else Rebase(obj[key], from, to);
                }
                break;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    if (Rebased(array[i], from, to) is string path) array[i] = path;
                    else Rebase(array[i], from, to);
                }
                break;
        }
    }

    static string? Rebased(JsonNode? node, string from, string to) =>
        node is JsonValue value && value.TryGetValue(out string? text)
        && (text == from || text.StartsWith(from + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            ? to + text[from.Length..]
            : null;
}
