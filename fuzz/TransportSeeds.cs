using Engine.Protocol;

namespace Engine.Fuzz;

/// <summary>
/// The transport target's seeds: the session seeds' streams (<see cref="Seeds.Streams"/>) and two that move more bytes
/// (a 20 KB message, larger than an io_uring receive buffer and a block; 300 small messages whose echoes fill the send
/// limit) and one that ends inside a frame header (kept bytes at the end), each under a few scripts that reach the paths the target is for: pieces read one by one, backpressure with
/// short writes, readiness that is not there, the peer's FIN and reset, the application's calls, on both loops.
/// </summary>
internal static class TransportSeeds
{
    private static readonly (string Name, TransportOptions Options, byte[] Script)[] Scripts =
    [
        ("epoll-whole", TransportOptions.None, []),
        ("uring-whole", TransportOptions.Uring, []),
        ("epoll-pieces", TransportOptions.None, [0x3F, 0x60, 0x3F, 0x60, 0x3F, 0x60, .. Repeat([0x00, 0x60], 24), 0x7F, 0x01, 0x60, 0x02, 0x60]),
        ("uring-pieces", TransportOptions.Uring, [0x3F, 0x60, 0x3F, 0x60, 0x3F, 0x60, .. Repeat([0x00, 0x60], 24), 0x7F, 0x01, 0x60, 0x02, 0x60]),
        ("epoll-backpressure", TransportOptions.SmallSocketBuffer | TransportOptions.SmallSendLimit,
            [0x5F, 0x60, 0x70, 0x60, 0x5F, 0x61, 0x71, 0x60, 0x5F, 0x60, 0x7F, 0x60]),
        ("uring-backpressure", TransportOptions.Uring | TransportOptions.SmallSocketBuffer | TransportOptions.SmallSendLimit,
            [0x5F, 0x60, 0x70, 0x60, 0x5F, 0x61, 0x71, 0x60, 0x5F, 0x60, 0x7F, 0x60]),
        ("epoll-spurious", TransportOptions.None, [0x81, 0x3F, 0x60, 0x05, 0x81, 0x82, 0x83, 0x80, 0x60, 0x10, 0x81, 0x60, 0x82]),
        ("uring-spurious", TransportOptions.Uring, [0x80, 0x3F, 0x60, 0x05, 0x80, 0x60, 0x10, 0x80, 0x60]),
        ("epoll-reset", TransportOptions.SmallSocketBuffer, [0x5F, 0x60, 0x20, 0x60, 0xE0, 0x60]),
        ("uring-reset", TransportOptions.Uring, [0x5F, 0x60, 0x20, 0x60, 0xE0, 0x60]),
        ("epoll-fin", TransportOptions.None, [0x5F, 0x60, 0x10, 0xC0, 0x60]),
        ("uring-fin", TransportOptions.Uring | TransportOptions.SmallLimits, [0x5F, 0x60, 0x10, 0xC0, 0x60]),
        ("epoll-application", TransportOptions.SmallSendLimit, [0x5F, 0x60, 0xBC, 0x60, 0xA3, 0x60, 0xBC, 0xA1, 0x60, 0x7F, 0x60]),
        ("uring-application", TransportOptions.Uring | TransportOptions.SmallSocketBuffer, [0x5F, 0x60, 0xBC, 0xBC, 0x60, 0xA3, 0x60, 0xA1, 0x60, 0x7F, 0x60]),
        ("epoll-abort", TransportOptions.Streamed, [0x3F, 0x60, 0x5F, 0xA2, 0x60]),
        ("uring-abort", TransportOptions.Uring | TransportOptions.NoEcho, [0x3F, 0x60, 0x5F, 0xA2, 0x60]),
    ];

    public static IEnumerable<(string, byte[])> All()
    {
        List<(string Name, byte[] Bytes)> streams = [.. Seeds.Streams()];
        streams.Add(("large-message", Seeds.Frame(Opcode.Binary, [.. Enumerable.Range(0, 20_000).Select(i => (byte)(i * 13))])));
        streams.Add(("many-messages", [.. Enumerable.Range(0, 300).SelectMany(i => Seeds.Text($"message {i}")), .. Seeds.Close(1000, "done")]));
        // Ends inside a frame header, so the connection holds kept bytes when it ends, whichever way it ends.
        streams.Add(("partial-header", [.. Seeds.Text("hi"), .. Seeds.Frame(Opcode.Binary, new byte[300]).AsSpan(0, 5)]));
        for (int i = 0; i < streams.Count; i++)
        {
            // Every script on the three streams added here; three scripts, in turn, on each of the session's.
            bool large = i >= streams.Count - 3;
            for (int k = 0; k < (large ? Scripts.Length : 3); k++)
            {
                (string name, TransportOptions options, byte[] script) = Scripts[large ? k : ((i * 3) + k) % Scripts.Length];
                yield return ($"{streams[i].Name}-{name}", [(byte)options, (byte)script.Length, .. script, .. streams[i].Bytes]);
            }
        }
        yield return ("raw-upgrade-and-frames-uring-pieces", [(byte)(TransportOptions.Raw | TransportOptions.Uring), 6, 0x10, 0x60, 0x3F, 0x60, 0x3F, 0x60,
            .. SessionTarget.Upgrade, .. Seeds.Text("hi"), .. Seeds.Close(1000)]);
        yield return ("raw-plain-get-epoll", [(byte)TransportOptions.Raw, 2, 0x05, 0x60, .. "GET / HTTP/1.1\r\nHost: h\r\n\r\n"u8]);
        yield return ("raw-head-over-limit-epoll", [(byte)(TransportOptions.Raw | TransportOptions.SmallSocketBuffer), 4, 0x5F, 0x60, 0x5F, 0x60,
            .. "GET / HTTP/1.1\r\nHost: h\r\nX: "u8, .. Enumerable.Repeat((byte)'a', 5000), .. "\r\n\r\n"u8]);
    }

    private static IEnumerable<byte> Repeat(byte[] bytes, int count) => Enumerable.Repeat(bytes, count).SelectMany(b => b);
}
