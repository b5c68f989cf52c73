using Host;

namespace Engine.Tests.HostApp;

/// <summary>The path checks alone (the file transfer tests also exercise the /proc/self/fd re-check behind them).</summary>
public sealed class FileResolverTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("resolver-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("a.txt", true)]
    [InlineData("dir/a.txt", true)]
    [InlineData("a..b", true)]
    [InlineData("", false)]
    [InlineData("/etc/passwd", false)]
    [InlineData("../a", false)]
    [InlineData("dir/../../a", false)]
    [InlineData("dir/..", false)]
    [InlineData("./a", false)]
    [InlineData("dir//a", false)]
    [InlineData("dir/", false)]
    [InlineData("dir\\..\\a", false)]
    [InlineData("a\0b", false)]
    public void Only_plain_relative_names_pass(string name, bool plain) => Assert.Equal(plain, FileResolver.IsPlainRelative(name));

    [Fact]
    public void Symlinks_are_resolved_component_by_component_and_must_stay_inside()
    {
        string files = Directory.CreateDirectory(Path.Combine(_root, "files")).FullName;
        string outside = Directory.CreateDirectory(Path.Combine(_root, "outside")).FullName;
        Directory.CreateDirectory(Path.Combine(files, "sub"));
        File.WriteAllText(Path.Combine(files, "sub", "in.txt"), "in");
        File.WriteAllText(Path.Combine(outside, "out.txt"), "out");
        Directory.CreateSymbolicLink(Path.Combine(files, "dir-out"), outside);
        Directory.CreateSymbolicLink(Path.Combine(files, "dir-in"), "sub");
        File.CreateSymbolicLink(Path.Combine(files, "chain"), "dir-in/in.txt");
        File.CreateSymbolicLink(Path.Combine(files, "up-and-back"), "../files/sub/in.txt");
        File.CreateSymbolicLink(Path.Combine(files, "loop-a"), "loop-b");
        File.CreateSymbolicLink(Path.Combine(files, "loop-b"), "loop-a");
        // The root itself may be reached through a symlink.
        string rootLink = Path.Combine(_root, "root-link");
        Directory.CreateSymbolicLink(rootLink, files);

        var resolver = new FileResolver(rootLink);
        string inner = Path.Combine(files, "sub", "in.txt");
        Assert.Equal(files, resolver.Root);
        Assert.Equal(inner, resolver.Resolve("sub/in.txt"));
        Assert.Equal(inner, resolver.Resolve("dir-in/in.txt"));
        Assert.Equal(inner, resolver.Resolve("chain"));
        Assert.Equal(inner, resolver.Resolve("up-and-back"));
        Assert.Equal(Path.Combine(files, "missing"), resolver.Resolve("missing")); // inside; the open reports it missing
        Assert.Null(resolver.Resolve("dir-out/out.txt"));
        Assert.Null(resolver.Resolve("loop-a"));
        Assert.False(resolver.IsInside(files));
        Assert.False(resolver.IsInside(files + "-sibling/x"));
    }
}
