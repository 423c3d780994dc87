// Makes TorchSharp 0.107.0's native glue load on Linux distributions whose libstdc++ predates GCC 13
// (Debian 12, Ubuntu 22.04: GLIBCXX up to 3.4.30).
//
// Why: libLibTorchSharp.so was linked with GCC 13. Including <iostream> there emits one undefined
// symbol, std::ios_base_library_init(), versioned GLIBCXX_3.4.32. Nothing calls it and no relocation
// refers to it (it only pins the link to a libstdc++ that initialises the standard streams itself),
// but the dynamic loader refuses the whole library because version GLIBCXX_3.4.32 is missing.
//
// What: on the build's output copy (never the NuGet cache) we rename that version requirement to one
// the system has (GLIBCXX_3.4.30, whose string the library already contains), drop the version from
// the symbol and mark it weak. The system libstdc++ then initialises the streams as it always did
// before GCC 13. Where the system libstdc++ already defines GLIBCXX_3.4.32 the patch is not applied.
//
// This file is compiled both by MSBuild (as an inline task, see build/TorchSharpNativeFix.targets)
// and by the test project, so it must only use the BCL.
#nullable enable
// MSBuild's RoslynCodeTaskFactory compiles this file too, in package consumers' builds as well, without implicit
// usings: the usings below are needed there although the test projects' implicit usings make them look unnecessary,
// and the file keeps to block namespaces rather than count on the language version that factory uses.
#pragma warning disable IDE0005, IDE0161
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace Recipes.Build
{
    public static class LibTorchSharpPatcher
    {
        public const string MissingVersion = "GLIBCXX_3.4.32";
        public const string SubstituteVersion = "GLIBCXX_3.4.30";

        const uint SHT_DYNSYM = 11;
        const uint SHT_GNU_VERDEF = 0x6ffffffd;
        const uint SHT_GNU_VERNEED = 0x6ffffffe;
        const uint SHT_GNU_VERSYM = 0x6fffffff;
        const byte STB_WEAK = 2;
        const ushort VER_NDX_GLOBAL = 1;

        /// <summary>Outcome of <see cref="PatchIfNeeded"/>, for the build log.</summary>
        public enum Outcome { NotNeeded, AlreadyPatched, Patched }

        /// <summary>Patches <paramref name="libraryPath"/> in place (atomically) when it needs a
        /// libstdc++ version that <paramref name="systemLibStdCxxPath"/> does not define.</summary>
        public static Outcome PatchIfNeeded(string libraryPath, string systemLibStdCxxPath)
        {
            byte[] system = File.ReadAllBytes(systemLibStdCxxPath);
            if (DefinedVersions(system).Contains(MissingVersion)) return Outcome.NotNeeded;

            byte[] image = File.ReadAllBytes(libraryPath);
            var elf = new Elf64(image, libraryPath);
            if (!elf.NeedsVersion(MissingVersion))
                return elf.NeedsVersion(SubstituteVersion) ? Outcome.AlreadyPatched : Outcome.NotNeeded;

            elf.RetargetVersionNeed(MissingVersion, SubstituteVersion);

            string temporary = libraryPath + ".patching";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                stream.Write(image, 0, image.Length);
                stream.Flush(true);
            }
            File.Replace(temporary, libraryPath, null);
            return Outcome.Patched;
        }

        /// <summary>The version names a shared library defines (its .gnu.version_d section).</summary>
        public static HashSet<string> DefinedVersions(byte[] image) => new Elf64(image, "libstdc++").DefinedVersions();

        /// <summary>Finds the libstdc++.so.6 the dynamic loader would use, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            try
            {
                var info = new ProcessStartInfo("/sbin/ldconfig", "-p") { RedirectStandardOutput = true, UseShellExecute = false };
                using var process = Process.Start(info);
                if (process != null)
                {
                    string output = process.StandardOutput.ReadToEnd();
                    process.WaitForExit(10_000);
                    foreach (string line in output.Split('\n'))
                    {
                        if (!line.TrimStart().StartsWith("libstdc++.so.6 ", StringComparison.Ordinal)) continue;
                        if (!line.Contains("x86-64") && !line.Contains("AArch64")) continue;
                        int arrow = line.IndexOf("=> ", StringComparison.Ordinal);
                        if (arrow > 0 && File.Exists(line.Substring(arrow + 3).Trim())) return line.Substring(arrow + 3).Trim();
                    }
                }
            }
            catch (Exception) { /* no ldconfig: fall back to the usual places */ }

            foreach (string candidate in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6",
                         "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
                if (File.Exists(candidate)) return candidate;
            return null;
        }

        /// <summary>A minimal ELF64 little-endian view: just the dynamic symbol and versioning tables.</summary>
        sealed class Elf64
        {
            readonly byte[] _image;
            readonly string _name;
            readonly List<(uint Type, ulong Offset, ulong Size, uint Link, ulong EntrySize, uint Info)> _sections = new();

            public Elf64(byte[] image, string name)
            {
                _image = image;
                _name = name;
                if (image.Length < 64 || image[0] != 0x7f || image[1] != (byte)'E' || image[2] != (byte)'L' || image[3] != (byte)'F')
                    throw new InvalidDataException($"{name}: not an ELF file");
                if (image[4] != 2 || image[5] != 1)
                    throw new InvalidDataException($"{name}: only 64-bit little-endian ELF is supported");
                ulong sectionTable = U64(0x28);
                ushort entrySize = U16(0x3a), count = U16(0x3c);
                if (sectionTable + (ulong)entrySize * count > (ulong)image.Length)
                    throw new InvalidDataException($"{name}: truncated section header table");
                for (int i = 0; i < count; i++)
                {
                    int at = checked((int)sectionTable + i * entrySize);
                    _sections.Add((U32(at + 4), U64(at + 24), U64(at + 32), U32(at + 40), U64(at + 56), U32(at + 44)));
                }
            }

            public HashSet<string> DefinedVersions()
            {
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var section in _sections)
                {
                    if (section.Type != SHT_GNU_VERDEF) continue;
                    ulong strings = _sections[(int)section.Link].Offset;
                    ulong entry = section.Offset;
                    for (uint i = 0; i < section.Info; i++)
                    {
                        ushort auxCount = U16((int)entry + 6);
                        ulong aux = entry + U32((int)entry + 12);
                        for (int a = 0; a < auxCount; a++)
                        {
                            names.Add(CString(strings + U32((int)aux)));
                            aux += U32((int)aux + 4);
                        }
                        uint next = U32((int)entry + 16);
                        if (next == 0) break;
                        entry += next;
                    }
                }
                return names;
            }

            public bool NeedsVersion(string version)
            {
                foreach (var need in VersionNeeds()) if (need.Name == version) return true;
                return false;
            }

            /// <summary>Points the requirement on <paramref name="from"/> at the existing string <paramref name="to"/>,
            /// and makes every symbol bound to it unversioned and weak.</summary>
            public void RetargetVersionNeed(string from, string to)
            {
                (ulong Offset, uint NameOffset, ushort Index)? source = null, target = null;
                foreach (var need in VersionNeeds())
                {
                    if (need.Name == from) source = (need.AuxOffset, need.NameOffset, need.Index);
                    if (need.Name == to) target = (need.AuxOffset, need.NameOffset, need.Index);
                }
                if (source == null || target == null)
                    throw new InvalidDataException($"{_name}: expected version requirements {from} and {to}");

                WriteU32((int)source.Value.Offset, ElfHash(to));           // vna_hash
                WriteU32((int)source.Value.Offset + 8, target.Value.NameOffset); // vna_name

                var versym = Section(SHT_GNU_VERSYM);
                var dynsym = Section(SHT_DYNSYM);
                ulong symbols = dynsym.Size / dynsym.EntrySize;
                for (ulong i = 0; i < symbols; i++)
                {
                    int versionAt = (int)(versym.Offset + i * 2);
                    if ((U16(versionAt) & 0x7fff) != source.Value.Index) continue;
                    WriteU16(versionAt, VER_NDX_GLOBAL);
                    int infoAt = (int)(dynsym.Offset + i * dynsym.EntrySize + 4);
                    _image[infoAt] = (byte)((STB_WEAK << 4) | (_image[infoAt] & 0x0f));
                }
            }

            IEnumerable<(string Name, ulong AuxOffset, uint NameOffset, ushort Index)> VersionNeeds()
            {
                var section = Section(SHT_GNU_VERNEED);
                ulong strings = _sections[(int)section.Link].Offset;
                ulong entry = section.Offset;
                for (uint i = 0; i < section.Info; i++)
                {
                    ushort auxCount = U16((int)entry + 2);
                    ulong aux = entry + U32((int)entry + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        uint nameOffset = U32((int)aux + 8);
                        yield return (CString(strings + nameOffset), aux, nameOffset, U16((int)aux + 6));
                        aux += U32((int)aux + 12);
                    }
                    uint next = U32((int)entry + 12);
                    if (next == 0) break;
                    entry += next;
                }
            }

            (uint Type, ulong Offset, ulong Size, uint Link, ulong EntrySize, uint Info) Section(uint type)
            {
                foreach (var section in _sections) if (section.Type == type) return section;
                throw new InvalidDataException($"{_name}: no ELF section of type 0x{type:x}");
            }

            static uint ElfHash(string name)
            {
                uint h = 0;
                foreach (char c in name)
                {
                    h = (h << 4) + c;
                    uint g = h & 0xf0000000;
                    if (g != 0) h ^= g >> 24;
                    h &= ~g;
                }
                return h;
            }

            string CString(ulong at)
            {
                int start = checked((int)at), end = start;
                while (end < _image.Length && _image[end] != 0) end++;
                return Encoding.ASCII.GetString(_image, start, end - start);
            }

            ushort U16(int at) => BitConverter.ToUInt16(_image, at);
            uint U32(int at) => BitConverter.ToUInt32(_image, at);
            ulong U64(int at) => BitConverter.ToUInt64(_image, at);
            void WriteU16(int at, ushort value) => BitConverter.GetBytes(value).CopyTo(_image, at);
            void WriteU32(int at, uint value) => BitConverter.GetBytes(value).CopyTo(_image, at);
        }
    }
}

#if !RECIPES_TESTS
namespace Recipes.Build
{
    /// <summary>The MSBuild face of <see cref="LibTorchSharpPatcher"/>.</summary>
    public sealed class PatchLibTorchSharp : Microsoft.Build.Utilities.Task
    {
        [Microsoft.Build.Framework.Required] public string LibraryPath { get; set; } = "";

        public override bool Execute()
        {
            string? system = LibTorchSharpPatcher.FindSystemLibStdCxx();
            if (system == null)
            {
                Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Normal, "No system libstdc++.so.6 found; leaving " + LibraryPath + " as it is.");
                return true;
            }
            var outcome = LibTorchSharpPatcher.PatchIfNeeded(LibraryPath, system);
            Log.LogMessage(outcome == LibTorchSharpPatcher.Outcome.Patched ? Microsoft.Build.Framework.MessageImportance.High : Microsoft.Build.Framework.MessageImportance.Low,
                "libLibTorchSharp.so: " + outcome + " (system " + system + ")");
            return true;
        }
    }
}
#endif
