using System.Net.Sockets;
using Engine.Fuzz;
using Engine.Session;
using Engine.Tests.Support;
using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Fuzz;

/// <summary>
/// The transport fuzz target (fuzz/TransportTarget.cs) reaches what it is for: both loops, short writes and
/// backpressure, the peer's FIN and reset, with the server's output whole and equal to one read of the stream through
/// the session. Guards against a harness that passes because nothing happens (an empty output is a prefix of anything).
/// </summary>
public class TransportTargetTests
{
    private const int ConnectionResetErrno = 104;

    public static TheoryData<string> Settled() =>
    [
        "many-messages-epoll-backpressure", "many-messages-uring-backpressure", "many-messages-epoll-pieces", "many-messages-uring-pieces",
        "large-message-epoll-pieces", "large-message-uring-backpressure", "conversation-uring-whole",
    ];

    [Theory]
    [MemberData(nameof(Settled))]
    public void A_settled_run_gives_the_peer_what_one_read_of_the_stream_gives(string seed)
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        byte[] input = Seed(seed);
        TransportRun run = TransportTarget.Execute(input);
        SessionRun whole = SessionRun.Execute(Stream(input), TransportRun.SessionOptionsFor(run.Options), maxPiece: 0, seed: 0, TransportRun.MaxRequestHeadSize);

        Assert.Equal(seed.Contains("-uring-", StringComparison.Ordinal) && TransportLoops.UringSupported, run.Options.HasFlag(TransportOptions.Uring));
        Assert.True(run.Complete, "the run did not settle with the whole stream written");
        Assert.Equal(Stream(input).Length, run.Written);
        Assert.NotEmpty(run.Messages);
        Assert.Equal(whole.Messages.Select(m => Convert.ToHexString(m.Payload)), run.Messages.Select(m => Convert.ToHexString(m.Payload)));
        Assert.True(whole.Sent.Length > 129, "the one-read run sent no more than the 101 response");
        Assert.Equal(whole.Sent, run.Received);
        Assert.Equal(1, run.Ends);
        Assert.Null(run.EndError);
    }

    [Theory]
    [InlineData("many-messages-epoll-reset")]
    [InlineData("many-messages-uring-reset")]
    public void A_peer_that_closes_with_replies_unread_resets_the_connection(string seed)
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        TransportRun run = TransportTarget.Execute(Seed(seed));

        Assert.False(run.Complete);
        Assert.Equal(1, run.Ends);
        // The loops build the exception from the errno as it is (ECONNRESET, 104 on Linux), not SocketError's 10054.
        SocketError code = Assert.IsType<SocketException>(run.EndError).SocketErrorCode;
        Assert.True(code is SocketError.ConnectionReset or (SocketError)ConnectionResetErrno, $"ended with {code}");
    }

    [Theory]
    [InlineData("large-message-epoll-fin")]
    [InlineData("many-messages-uring-fin")]
    public void A_peer_that_half_closes_ends_the_connection_in_order(string seed)
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        TransportRun run = TransportTarget.Execute(Seed(seed));

        Assert.False(run.Complete);
        Assert.Equal(1, run.Ends);
        Assert.Null(run.EndError);
    }

    /// <summary>
    /// afl-fuzz, transport target, first 2-hour run (fuzz/corpus/transport/regression-iowq-send-*): io_uring, the server
    /// socket's smallest send buffer, the application sending 700-byte messages faster than the peer reads. A send that
    /// found the socket full is handed by io_uring to an io-wq worker thread blocking in send(); when the peer closes,
    /// the connection closes and cancels it, and it ends only once that thread has let go of the send, which takes its
    /// own time. The harness had given it 64 turns without sleeping and reported a connection that never ended; it now
    /// waits as the real loop does. Pinned: these runs end once, in order, with every block back (the target checks).
    /// </summary>
    [Theory]
    [InlineData("regression-iowq-send-1")]
    [InlineData("regression-iowq-send-2")]
    [InlineData("regression-iowq-send-3")]
    [InlineData("regression-iowq-send-4")]
    public void A_connection_whose_send_waits_in_an_io_wq_worker_ends_once_the_peer_closes(string input)
    {
        if (!Native.IsSupported)
        {
            return; // the Linux loops: Linux on x86-64 only
        }
        byte[] bytes = Seed(input);
        for (int i = 0; i < 3; i++) // the first run is slower (JIT); the worker's delay showed on the later ones
        {
            TransportRun run = TransportTarget.Execute(bytes);
            Assert.Equal(1, run.Ends);
            Assert.Null(run.EndError);
            Assert.True(run.ApplicationActed);
        }
    }

    private static byte[] Seed(string name) => File.ReadAllBytes(Path.Combine(Repository.Root, "fuzz", "corpus", "transport", name));

    /// <summary>What the peer sends: the upgrade request, then the stream after the script.</summary>
    private static byte[] Stream(byte[] input) => [.. SessionTarget.Upgrade, .. input.AsSpan(TransportTarget.HeaderLength + input[1])];
}
