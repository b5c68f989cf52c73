using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Storm;

/// <summary>
/// A client process of the storm (<c>client --port P --source 127.0.0.N --connections K --seconds S ...</c>): K slots,
/// each starting at a random time under <c>--ramp-ms</c>, then cycling one connection as fast as it can: connect and upgrade, one echo, hold for a random time under
/// <c>--hold-max-ms</c> (answering the server's heartbeat pings), then a clean 1000 close or, for
/// <c>--reset-fraction</c> of them, an abortive reset. After S seconds each slot finishes its cycle; the process prints
/// one <c>result {json}</c> line and exits. Each process holds at most K client sockets: with K under the 20,000
/// open-files limit, several processes together make a storm no one process could.
/// </summary>
internal sealed class StormClient
{
    private readonly IPEndPoint _server;
    private readonly IPAddress _source;
    private readonly int _slots;
    private readonly TimeSpan _duration;
    private readonly int _holdMaxMs;
    private readonly int _rampMs;
    private readonly double _resetFraction;
    private readonly int _seed;
    private readonly Stopwatch _clock = new();
    private readonly List<string> _errors = [];
    private long _opened;
    private long _clean;
    private long _resets;
    private long _failed;
    private long _serverEnded;
    private long _pongs;

    private StormClient(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            values[args[i]] = args[i + 1];
        }
        string Get(string name) => values.TryGetValue(name, out string? value) ? value : throw new FormatException($"client needs {name}");
        _server = new IPEndPoint(IPAddress.Loopback, int.Parse(Get("--port"), CultureInfo.InvariantCulture));
        _source = IPAddress.Parse(Get("--source"));
        _slots = int.Parse(Get("--connections"), CultureInfo.InvariantCulture);
        _duration = TimeSpan.FromSeconds(double.Parse(Get("--seconds"), CultureInfo.InvariantCulture));
        _holdMaxMs = int.Parse(Get("--hold-max-ms"), CultureInfo.InvariantCulture);
        _rampMs = int.Parse(Get("--ramp-ms"), CultureInfo.InvariantCulture);
        _resetFraction = double.Parse(Get("--reset-fraction"), CultureInfo.InvariantCulture);
        _seed = int.Parse(Get("--seed"), CultureInfo.InvariantCulture);
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var client = new StormClient(args);
        // Stops by itself: a slot stuck in a cycle (every wait in it has a timeout) cannot keep the process past this.
        _ = Task.Delay(client._duration + TimeSpan.FromSeconds(45)).ContinueWith(_ => Environment.Exit(3), TaskScheduler.Default);
        client._clock.Start();
        var slots = new Task[client._slots];
        for (int i = 0; i < slots.Length; i++)
        {
            int slot = i;
            slots[i] = Task.Run(() => client.SlotAsync(slot));
        }
        await Task.WhenAll(slots);
        var result = new ClientResult(client._clock.Elapsed.TotalSeconds, client._opened, client._clean, client._resets, client._failed,
            client._serverEnded, client._pongs, [.. client._errors]);
        Console.WriteLine("result " + JsonSerializer.Serialize(result));
        return 0;
    }

    private async Task SlotAsync(int slot)
    {
        var random = new Random(HashCode.Combine(_seed, slot));
        var peer = new WirePeer(_server, _source);
        await Task.Delay(random.Next(_rampMs + 1));
        while (_clock.Elapsed < _duration)
        {
            // Generous: on a 2-core box shared by the server and every client, a connect waits behind thousands of others.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await peer.ConnectAndEchoAsync(timeout.Token);
                Interlocked.Increment(ref _opened);
                if (!await peer.HoldAsync(TimeSpan.FromMilliseconds(random.Next(_holdMaxMs + 1))))
                {
                    Interlocked.Increment(ref _serverEnded);
                    peer.Dispose(reset: false);
                }
                else if (random.NextDouble() < _resetFraction)
                {
                    peer.Reset();
                    Interlocked.Increment(ref _resets);
                }
                else
                {
                    await peer.CloseCleanlyAsync(timeout.Token);
                    Interlocked.Increment(ref _clean);
                }
            }
            catch (Exception exception) when (exception is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                peer.Dispose(reset: true);
                Interlocked.Increment(ref _failed);
                lock (_errors)
                {
                    if (_errors.Count < 8)
                    {
                        _errors.Add($"{_clock.Elapsed.TotalSeconds:F1}s {exception.GetType().Name}: {exception.Message}");
                    }
                }
                await Task.Delay(50); // not a hot loop of failures against a server that refuses
            }
        }
        Interlocked.Add(ref _pongs, peer.Pongs);
    }
}
