using System.Globalization;
using System.Text;
using Engine;

namespace Host;

/// <summary>
/// The app protocol's state of one connection (kept in <see cref="WebSocketConnection.UserState"/>). Touched by that
/// connection's callbacks, which never run concurrently; the auth state is also read by the timeout sweep, hence atomic.
/// </summary>
internal sealed class AppConnection
{
    private const int Pending = 0;
    private const int Authenticated = 1;
    private const int Rejected = 2;

    private int _auth;
    private HashSet<string>? _channels;

    public AppConnection(WebSocketConnection connection, string? user, bool authRequired, long authDeadline)
    {
        Connection = connection;
        Id = connection.Id.ToString(CultureInfo.InvariantCulture);
        AuthDeadline = authDeadline;
        if (user is not null || !authRequired)
        {
            _auth = Authenticated;
        }
        SetFrom(user ?? Id);
    }

    public WebSocketConnection Connection { get; }

    /// <summary>The connection id as sent in <c>connected</c>.</summary>
    public string Id { get; }

    /// <summary>What the server puts in <c>from</c>: the authenticated user, or the connection id.</summary>
    public string From { get; private set; } = "";

    /// <summary><see cref="From"/> as UTF-8, for the binary envelope.</summary>
    public byte[] FromUtf8 { get; private set; } = [];

    /// <summary>Monotonic ms (Environment.TickCount64) by which an unauthenticated connection must have authenticated.</summary>
    public long AuthDeadline { get; }

    public bool IsAuthenticated => Volatile.Read(ref _auth) == Authenticated;

    public bool IsRejected => Volatile.Read(ref _auth) == Rejected;

    /// <summary>File requests waiting or running, served one after the other (guarded by itself); null when idle.</summary>
    public Queue<string>? FileRequests;

    /// <summary>Channels joined; its alternate lookup finds the string of a channel from the message's bytes without allocating.</summary>
    public HashSet<string> Channels => _channels ??= new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Pending to authenticated; false when the sweep rejected the connection first.</summary>
    public bool TryAuthenticate(string user)
    {
        if (Interlocked.CompareExchange(ref _auth, Authenticated, Pending) != Pending)
        {
            return false;
        }
        SetFrom(user);
        return true;
    }

    /// <summary>Pending to rejected; false when already decided.</summary>
    public bool TryReject() => Interlocked.CompareExchange(ref _auth, Rejected, Pending) == Pending;

    /// <summary>The string of a joined channel given its bytes (ASCII), or a new string if not joined.</summary>
    public string ChannelString(ReadOnlySpan<byte> name)
    {
        if (_channels is { Count: > 0 })
        {
            Span<char> chars = stackalloc char[ChannelName.MaxLength];
            int length = Encoding.ASCII.GetChars(name, chars);
            if (_channels.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(chars[..length], out string? existing))
            {
                return existing;
            }
        }
        return ChannelName.ToString(name);
    }

    private void SetFrom(string from)
    {
        From = from;
        FromUtf8 = Encoding.UTF8.GetBytes(from);
    }
}
