namespace Recipes.Runtime.IO;

/// <summary>
/// Makes sure a run can write its results before it spends minutes training: the folder is created if needed and
/// a file is written and removed in it. When that fails, the error names the folder and says why in a user's terms
/// (a parent that is a file, a folder without write permission, a file system that refuses new entries) rather than
/// the system call's message ("Could not find file '/proc/foo'." for a folder that was being created).
/// </summary>
public static class OutputFolder
{
    public static void EnsureWritable(string folder, string option = "--output")
    {
        string full = Path.GetFullPath(folder);
        if (File.Exists(full)) throw new IOException($"{option} '{folder}' is a file, not a folder: choose a folder for the results");
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option} '{folder}': cannot create the output folder: {WhyNotCreatable(full, error)}", error);
        }
        string probe = Path.Combine(full, $".write-test.{Environment.ProcessId}.{Guid.NewGuid():N}");
        try
        {
            File.WriteAllBytes(probe, [1]);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{option} '{folder}': cannot write files in the output folder: {Reason(full, error)}", error);
        }
        finally
        {
            try { File.Delete(probe); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Looks at the deepest part of the path that exists: the reason lies there.</summary>
    static string WhyNotCreatable(string full, Exception error)
    {
        string? existing = Path.GetDirectoryName(full);
        while (existing is not null && !Directory.Exists(existing) && !File.Exists(existing)) existing = Path.GetDirectoryName(existing);
        if (existing is null) return error.Message;
        if (File.Exists(existing)) return $"'{existing}' is a file, so nothing can be created under it";
        return Reason(existing, error);
    }

    static string Reason(string existingFolder, Exception error)
    {
        if (error is UnauthorizedAccessException) return $"permission denied in '{existingFolder}'{Mode(existingFolder)}";
        if (IsVirtualFileSystem(existingFolder))
            return $"'{existingFolder}' is on a kernel file system ({FileSystemOf(existingFolder)}) that holds no user files";
        // Read-only mounts and full disks have a clear system message; keep it after the folder's name.
        return $"'{existingFolder}' refuses it{Mode(existingFolder)} ({error.Message.TrimEnd('.')})";
    }

    static string Mode(string folder)
    {
        if (OperatingSystem.IsWindows()) return "";
        try
        {
            var mode = File.GetUnixFileMode(folder);
            return (mode & UnixFileMode.UserWrite) == 0 ? $" (mode {ModeText(mode)}: not writable)" : "";
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    static string ModeText(UnixFileMode mode)
    {
        Span<char> text = stackalloc char[9];
        UnixFileMode[] bits = [UnixFileMode.UserRead, UnixFileMode.UserWrite, UnixFileMode.UserExecute, UnixFileMode.GroupRead, UnixFileMode.GroupWrite,
            UnixFileMode.GroupExecute, UnixFileMode.OtherRead, UnixFileMode.OtherWrite, UnixFileMode.OtherExecute];
        for (int i = 0; i < 9; i++) text[i] = (mode & bits[i]) != 0 ? "rwx"[i % 3] : '-';
        return new string(text);
    }

    static readonly string[] KernelFileSystems = ["proc", "sysfs", "cgroup", "cgroup2", "devpts", "securityfs", "debugfs", "tracefs", "configfs", "pstore", "bpf"];

    static bool IsVirtualFileSystem(string folder) => KernelFileSystems.Contains(FileSystemOf(folder));

    /// <summary>The type of the mount holding <paramref name="folder"/> (Linux: the longest mount point in /proc/mounts
    /// that contains it); empty when unknown.</summary>
    static string FileSystemOf(string folder)
    {
        if (!OperatingSystem.IsLinux()) return "";
        try
        {
            string best = "", type = "";
            foreach (string line in File.ReadLines("/proc/mounts"))
            {
                string[] fields = line.Split(' ');
                if (fields.Length < 3) continue;
                string mountPoint = fields[1].Replace("\\040", " ", StringComparison.Ordinal);
                bool contains = folder == mountPoint || mountPoint == "/" || folder.StartsWith(mountPoint.TrimEnd('/') + "/", StringComparison.Ordinal);
                if (contains && mountPoint.Length >= best.Length) (best, type) = (mountPoint, fields[2]);
            }
            return type;
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
