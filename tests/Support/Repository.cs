namespace Engine.Tests.Support;

/// <summary>The checkout the tests run from, for files they read from it (fuzz corpora, the Host's build output).</summary>
internal static class Repository
{
    /// <summary>The nearest directory above the test assembly that holds Engine.sln.</summary>
    public static string Root
    {
        get
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Engine.sln")))
                {
                    return directory.FullName;
                }
            }
            throw new DirectoryNotFoundException("Engine.sln not found above " + AppContext.BaseDirectory);
        }
    }
}
