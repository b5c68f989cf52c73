using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Conformance.Cases;
using Conformance.Fuzzing;
using Conformance.Running;

namespace Conformance.Tests;

/// <summary>
/// The grading itself must be able to fail: a deliberately lax peer (echoes every frame, validates nothing, answers
/// every Close with 1000) and a mute one are graded, and the cases they get wrong must come out not OK.
/// </summary>
public sealed class GradingTests : IAsyncLifetime
{
    private readonly LaxPeer _lax = new(mute: false);
    private readonly LaxPeer _mute = new(mute: true);

    public async Task InitializeAsync()
    {
        Engine.Tests.Support.RunnerThreadPool.GiveBackBlockedThreads(); // these tests may start before the fixture does
        _lax.Start();
        _mute.Start();
        // The lax peer must pass a plain echo within its 1 s kill: not in the first, cold round of this process.
        var warmUp = await CaseRunner.WarmUpAsync(_lax.Url, "lax");
        Assert.True(warmUp.Settled, $"the lax peer never settled: {warmUp}");
    }

    public Task DisposeAsync()
    {
        _lax.Dispose();
        _mute.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_lax_peer_passes_a_plain_echo()
    {
        var result = await CaseRunner.RunOneAsync(_lax.Url, "lax", Catalogue.Get("1.1.2"));
        Assert.True(result.Passed, result.Explain());
    }

    [Theory]
    [InlineData("3.1")]    // echoes a frame with RSV set instead of failing with 1002
    [InlineData("4.1.1")]  // ignores a reserved opcode (echoes it: the fuzzer drops, so the close is FAILED BY CLIENT)
    [InlineData("6.3.1")]  // echoes invalid UTF-8
    [InlineData("6.4.1")]  // never fails fast (or at all) on invalid UTF-8
    [InlineData("7.9.1")]  // answers close code 0 with 1000 instead of 1002
    public async Task A_lax_peer_fails_the_cases_it_gets_wrong(string id)
    {
        var result = await CaseRunner.RunOneAsync(_lax.Url, "lax", Catalogue.Get(id));
        Assert.False(result.Passed, result.Explain());
    }

    [Fact]
    public async Task A_mute_peer_fails_and_so_does_its_close()
    {
        var result = await CaseRunner.RunOneAsync(_mute.Url, "mute", Catalogue.Get("1.1.1"));
        Assert.Equal(Behavior.Failed, result.Behavior);
        Assert.Equal(Behavior.Failed, result.BehaviorClose); // the fuzzer had to end it: closed by the wrong endpoint
        Assert.True(result.DroppedByMe);
    }

    /// <summary>A WebSocket "server" that completes the handshake and then either echoes every frame blindly or says nothing.</summary>
    private sealed class LaxPeer(bool mute) : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public Uri Url => new($"ws://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

        public void Start()
        {
            _listener.Start();
            _ = AcceptAsync();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    _ = ServeAsync(client);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using var _ = client;
            var stream = client.GetStream();
            try
            {
                var head = new StringBuilder();
                var one = new byte[1];
                while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
                {
                    if (await stream.ReadAsync(one, _stop.Token) == 0)
                    {
                        return;
                    }
                    head.Append((char)one[0]);
                }
                var key = head.ToString().Split("\r\n").First(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase))[18..].Trim();
                var accept = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"), _stop.Token);
                while (true)
                {
                    var header = new byte[2];
                    await stream.ReadExactlyAsync(header, _stop.Token);
                    long length = header[1] & 0x7F;
                    if (length >= 126)
                    {
                        var extended = new byte[length == 126 ? 2 : 8];
                        await stream.ReadExactlyAsync(extended, _stop.Token);
                        length = extended.Length == 2 ? BinaryPrimitives.ReadUInt16BigEndian(extended) : (long)BinaryPrimitives.ReadUInt64BigEndian(extended);
                    }
                    var mask = new byte[4];
                    await stream.ReadExactlyAsync(mask, _stop.Token);
                    var payload = new byte[length];
                    await stream.ReadExactlyAsync(payload, _stop.Token);
                    for (int i = 0; i < payload.Length; i++)
                    {
                        payload[i] ^= mask[i & 3];
                    }
                    if (mute)
                    {
                        continue;
                    }
                    int opcode = header[0] & 0x0F;
                    if (opcode == 8)
                    {
                        await stream.WriteAsync(new byte[] { 0x88, 2, 0x03, 0xE8 }, _stop.Token);
                        return;
                    }
                    // Echo the frame as it came (FIN and opcode kept, RSV dropped), pings answered with pongs.
                    var reply = new List<byte> { (byte)((header[0] & 0x8F) == 0x89 ? 0x8A : header[0] & 0x8F) };
                    if (length <= 125)
                    {
                        reply.Add((byte)length);
                    }
                    else if (length <= 0xFFFF)
                    {
                        reply.AddRange([126, (byte)(length >> 8), (byte)length]);
                    }
                    else
                    {
                        reply.Add(127);
                        reply.AddRange(BitConverter.GetBytes((ulong)length).Reverse());
                    }
                    reply.AddRange(payload);
                    await stream.WriteAsync(reply.ToArray(), _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or EndOfStreamException or ObjectDisposedException)
            {
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }
}
