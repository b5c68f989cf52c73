namespace Host;

/// <summary>
/// Maps a requested file name to a real path inside the files directory, refusing everything that could lead out of it:
/// absolute names, <c>..</c>, and symbolic links (in any component) whose target is outside. Symlinks are resolved
/// component by component like realpath(3), then the result must lie under the (equally resolved) root.
/// </summary>
internal sealed class FileResolver
{
    private const int MaxLinks = 40; // as Linux's MAXSYMLINKS
    private readonly string _prefix;

    /// <summary>Resolves <paramref name="directory"/> once (it may itself be a symlink).</summary>
    public FileResolver(string directory)
    {
        Root = RealPath(Path.GetFullPath(directory)) ?? throw new ArgumentException("WS_FILES_DIR cannot be resolved (symlink loop).", nameof(directory));
        _prefix = Root.EndsWith('/') ? Root : Root + "/";
    }

    /// <summary>The real path of the files directory.</summary>
    public string Root { get; }

    /// <summary>Whether <paramref name="name"/> is a plain relative path: no root, no <c>..</c> or <c>.</c> or empty segment, no backslash or NUL.</summary>
    public static bool IsPlainRelative(string name)
    {
        if (name.Length is 0 or > 1024 || Path.IsPathRooted(name) || name.Contains('\\') || name.Contains('\0'))
        {
            return false;
        }
        foreach (Range segment in name.AsSpan().Split('/'))
        {
            ReadOnlySpan<char> part = name.AsSpan(segment);
            if (part.IsEmpty || part is "." or "..")
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Resolves <paramref name="name"/> (checked with <see cref="IsPlainRelative"/>); null when it leads outside the
    /// root or cannot be resolved. Touches the file system: not for I/O threads.
    /// </summary>
    public string? Resolve(string name)
    {
        string? real = RealPath(Path.Join(Root, name));
        return real is not null && IsInside(real) ? real : null;
    }

    /// <summary>Whether a real path lies strictly under the root.</summary>
    public bool IsInside(string realPath) => realPath.StartsWith(_prefix, StringComparison.Ordinal) && realPath.Length > _prefix.Length;

    /// <summary>realpath(3) in managed code: every symlink component replaced by its target; null on a link loop.</summary>
    public static string? RealPath(string absolutePath)
    {
        var pending = new Stack<string>();
        PushComponents(pending, absolutePath);
        string current = "/";
        int links = 0;
        while (pending.TryPop(out string? part))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }
            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? "/";
                continue;
            }
            string next = Path.Join(current, part);
            string? target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next; // not a link (or missing: the caller finds out when it opens the file)
                continue;
            }
            if (++links > MaxLinks)
            {
                return null;
            }
            if (Path.IsPathRooted(target))
            {
                current = "/";
            }
            PushComponents(pending, target);
        }
        return current;
    }

    private static void PushComponents(Stack<string> pending, string path)
    {
        string[] parts = path.Split('/');
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }
}
