using System.Text.RegularExpressions;

namespace Engine.Tests.Unit.Architecture;

/// <summary>
/// Rules over the source files of src/ that the compiler does not check: the line length that .editorconfig's
/// <c>max_line_length</c> declares (Roslyn ignores it), and that a file over 400 lines says at its top why it is kept
/// whole (STYLE.md: big types split into partial files by concern).
/// </summary>
public sealed partial class SourceRulesTests
{
    /// <summary>Lines a file may have before it needs a reason written at its top.</summary>
    private const int LongFileLines = 400;

    /// <summary>The reason a long file gives, in a comment in its first lines: <c>// Kept whole (over 400 lines): why.</c></summary>
    private const string LongFileMarker = "Kept whole";

    [Fact]
    public void No_line_in_src_is_longer_than_editorconfig_max_line_length()
    {
        int limit = MaxLineLength();
        var tooLong = new List<string>();
        foreach ((string path, string[] lines) in SourceFiles())
        {
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].Length > limit)
                {
                    tooLong.Add($"{path}:{i + 1}: {lines[i].Length} characters");
                }
            }
        }
        Assert.True(tooLong.Count == 0, $"Lines over {limit} characters (.editorconfig max_line_length):\n" + string.Join("\n", tooLong));
    }

    [Fact]
    public void A_file_over_400_lines_says_at_its_top_why_it_is_kept_whole()
    {
        var unexplained = new List<string>();
        foreach ((string path, string[] lines) in SourceFiles())
        {
            if (lines.Length > LongFileLines && !lines.Take(15).Any(l => l.TrimStart().StartsWith("//", StringComparison.Ordinal)
                && l.Contains(LongFileMarker, StringComparison.Ordinal)))
            {
                unexplained.Add($"{path}: {lines.Length} lines");
            }
        }
        Assert.True(unexplained.Count == 0,
            $"Files over {LongFileLines} lines without a \"// {LongFileMarker} (over {LongFileLines} lines): why\" comment in their " +
            "first 15 lines; split them into partial files by concern, or say why not:\n" + string.Join("\n", unexplained));
    }

    [Fact]
    public void The_limit_is_read_from_editorconfig() => Assert.InRange(MaxLineLength(), 100, 200);

    private static int MaxLineLength()
    {
        string editorConfig = File.ReadAllText(Path.Combine(RepositoryRoot(), ".editorconfig"));
        Match match = MaxLineLengthSetting().Match(editorConfig);
        Assert.True(match.Success, ".editorconfig sets no max_line_length");
        return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static IEnumerable<(string Path, string[] Lines)> SourceFiles()
    {
        string root = RepositoryRoot();
        string separator = Path.DirectorySeparatorChar.ToString();
        foreach (string file in Directory.EnumerateFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(root, file);
            if (relative.Contains(separator + "obj" + separator, StringComparison.Ordinal)
                || relative.Contains(separator + "bin" + separator, StringComparison.Ordinal))
            {
                continue;
            }
            yield return (relative, File.ReadAllLines(file));
        }
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Engine.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Engine.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\s*max_line_length\s*=\s*(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex MaxLineLengthSetting();
}
