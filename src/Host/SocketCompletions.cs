using Engine;

namespace Host;

/// <summary>
/// Where the portable transport's socket completions run. On Linux and macOS, .NET's socket engine waits on epoll or
/// kqueue in its own thread and by default queues every completion for the thread pool. Under a connection storm on one
/// core that queue fell behind by seconds (a fresh client waited up to 6.8 s, docs/resilience.md), while the io_uring and
/// epoll loops, which run the session on the thread that waited, kept it under 250 ms. Inline completions run the
/// session on the engine's event threads (one per core), as the loops do and as IOCP threads do on Windows, where the
/// setting has no effect. The engine's handler contract already allows that: callbacks run on I/O threads and must not
/// block. The setting is process-wide and read at the first socket, so the Host, which owns its process, sets it before
/// it makes one, and only when it serves on .NET sockets (its backplane clients keep the default otherwise).
/// </summary>
internal static class SocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether this process runs its socket completions inline (what <see cref="Configure"/> left in place).</summary>
    public static bool Inline => IsInline(Environment.GetEnvironmentVariable(Variable));

    /// <summary>
    /// Asks for inline completions when <paramref name="options"/> serve on .NET sockets and the environment does not
    /// already say (an explicit value, "0" included, wins). Returns whether completions run inline.
    /// </summary>
    public static bool Configure(WebSocketServerOptions options, Func<string, string?> get, Action<string, string> set)
    {
        string? value = get(Variable);
        if (value is null && options.ResolvedTransport == TransportKind.Sockets)
        {
            value = "1";
            set(Variable, value);
        }
        return IsInline(value);
    }

    private static bool IsInline(string? value) => value == "1";
}
