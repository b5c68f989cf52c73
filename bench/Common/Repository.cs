using System.Diagnostics;

namespace Bench;

/// <summary>Where the repository is and which commit it is at, for locating builds and labelling results.</summary>
internal static class Repository
{
    /// <summary>The nearest directory above this program holding Engine.sln, else the working directory.</summary>
    public static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    /// <summary>The short commit id of HEAD, or "" without git.</summary>
    public static string Commit(string root)
    {
        try
        {
            var info = new ProcessStartInfo("git", ["-C", root, "rev-parse", "--short", "HEAD"]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(info)!;
            var s = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return s;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
