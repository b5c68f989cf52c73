using System.Net.WebSockets;
using System.Text;

namespace Soak;

/// <summary>
/// The soak's traffic against the Host's application protocol, all at once: long-lived subscribers receiving a
/// broadcast channel, publishers feeding it, echo-style request/response (<c>ping</c> → <c>pong</c>) at a steady rate,
/// and churn workers that connect, join a channel, publish, and leave (most with a close handshake, some abruptly).
/// </summary>
internal sealed class Workload(Uri uri, Options options)
{
    private static readonly string Pad = new('x', 64);
    private long _echoes;
    private long _published;
    private long _delivered;
    private long _churn;
    private long _errors;
    private readonly List<string> _errorSamples = [];

    public long Echoes => Interlocked.Read(ref _echoes);
    public long Published => Interlocked.Read(ref _published);
    public long Delivered => Interlocked.Read(ref _delivered);
    public long ChurnCycles => Interlocked.Read(ref _churn);
    public long Errors => Interlocked.Read(ref _errors);

    public IReadOnlyList<string> ErrorSamples
    {
        get
        {
            lock (_errorSamples)
            {
                return _errorSamples.ToArray();
            }
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        var tasks = new List<Task>();
        // Subscribers first, so the publishers' messages have an audience from the start.
        var subscribers = new List<ClientWebSocket>();
        for (int i = 0; i < options.Subscribers; i++)
        {
            ClientWebSocket socket = await OpenAsync(stop);
            await SendAsync(socket, """{"type":"subscribe","channel":"soak"}""", stop);
            await ExpectAsync(socket, "\"subscribed\"", stop);
            subscribers.Add(socket);
            tasks.Add(SubscriberAsync(socket, stop));
        }
        for (int i = 0; i < options.Publishers; i++)
        {
            int publisher = i;
            tasks.Add(Guard(() => PublisherAsync(publisher, stop), stop));
        }
        for (int i = 0; i < options.Echoers; i++)
        {
            tasks.Add(Guard(() => EchoerAsync(stop), stop));
        }
        for (int i = 0; i < options.ChurnWorkers; i++)
        {
            int worker = i;
            tasks.Add(Guard(() => ChurnAsync(worker, stop), stop));
        }
        await Task.WhenAll(tasks);
    }

    private async Task<ClientWebSocket> OpenAsync(CancellationToken stop)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(uri, stop);
            await ExpectAsync(socket, "\"connected\"", stop);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task SubscriberAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var buffer = new byte[4096];
        try
        {
            while (!stop.IsCancellationRequested)
            {
                WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, stop);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    Fail($"subscriber closed by the server: {result.CloseStatus} {result.CloseStatusDescription}");
                    return;
                }
                if (result.EndOfMessage)
                {
                    Interlocked.Increment(ref _delivered);
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            Fail("subscriber: " + exception.Message);
        }
        finally
        {
            await CloseAsync(socket);
        }
    }

    private async Task PublisherAsync(int index, CancellationToken stop)
    {
        using ClientWebSocket socket = await OpenAsync(stop);
        Task drain = DrainAsync(socket, stop);
        var pace = new Pace(options.PublishesPerSecond);
        try
        {
            for (long n = 0; !stop.IsCancellationRequested; n++)
            {
                await SendAsync(socket, "{\"type\":\"message\",\"channel\":\"soak\",\"content\":{\"publisher\":" + index + ",\"n\":" + n + ",\"pad\":\"" + Pad + "\"}}", stop);
                Interlocked.Increment(ref _published);
                await pace.WaitAsync(stop);
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        await CloseAsync(socket);
        await drain;
    }

    private async Task EchoerAsync(CancellationToken stop)
    {
        using ClientWebSocket socket = await OpenAsync(stop);
        var pace = new Pace(options.EchoesPerSecond);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await SendAsync(socket, """{"type":"ping"}""", stop);
                await ExpectAsync(socket, "\"pong\"", stop);
                Interlocked.Increment(ref _echoes);
                await pace.WaitAsync(stop);
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        await CloseAsync(socket);
    }

    private async Task ChurnAsync(int worker, CancellationToken stop)
    {
        for (long cycle = 0; !stop.IsCancellationRequested; cycle++)
        {
            try
            {
                await ChurnOnceAsync(worker, cycle, stop);
                Interlocked.Increment(ref _churn);
                await Task.Delay(10, stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // The run is ending, not failing. Every catch here treats an exception once the stop is requested so: the
                // stop token aborts a ClientWebSocket whose operation was completing at that moment without making the
                // operation throw, and the next call then fails with "invalid state ('Aborted')" rather than with a
                // cancellation (seen once in CI: 1 error in the last instant of a 60 s soak, 0 in every sample before).
            }
            catch (Exception exception)
            {
                Fail($"churn: {exception.GetType().Name}: {exception.Message}");
            }
        }
    }

    private async Task ChurnOnceAsync(int worker, long cycle, CancellationToken stop)
    {
        using ClientWebSocket socket = await OpenAsync(stop);
        string channel = $"churn-{worker}-{cycle % 16}";
        await SendAsync(socket, $$"""{"type":"subscribe","channel":"{{channel}}"}""", stop);
        await ExpectAsync(socket, "\"subscribed\"", stop);
        await SendAsync(socket, $$"""{"type":"message","channel":"{{channel}}","content":"cycle {{cycle}}"}""", stop);
        if (cycle % 5 == 4)
        {
            socket.Abort(); // gone without a close handshake
        }
        else
        {
            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", stop);
        }
    }

    private async Task Guard(Func<Task> body, CancellationToken stop)
    {
        try
        {
            await body();
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception exception)
        {
            Fail(exception.GetType().Name + ": " + exception.Message);
        }
    }

    private async Task DrainAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var buffer = new byte[4096];
        try
        {
            while (socket.State == WebSocketState.Open)
            {
                WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, stop);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }
            }
        }
        catch (Exception) when (stop.IsCancellationRequested)
        {
        }
        catch (WebSocketException)
        {
        }
    }

    private static async Task SendAsync(ClientWebSocket socket, string json, CancellationToken stop) =>
        await socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, stop);

    private static async Task ExpectAsync(ClientWebSocket socket, string type, CancellationToken stop)
    {
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        WebSocketReceiveResult result = await socket.ReceiveAsync(buffer, timeout.Token);
        string text = Encoding.UTF8.GetString(buffer, 0, result.Count);
        if (!text.Contains(type, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"expected {type}, got {result.MessageType} '{text}'");
        }
    }

    private static async Task CloseAsync(ClientWebSocket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
        }
        catch (Exception)
        {
            // Best effort at the end of the run; the server's counters show whether it let go.
        }
        socket.Dispose();
    }

    private void Fail(string message)
    {
        Interlocked.Increment(ref _errors);
        lock (_errorSamples)
        {
            if (_errorSamples.Count < 10)
            {
                _errorSamples.Add(message);
            }
        }
    }

    /// <summary>A steady rate without drift: waits until the next tick of a fixed schedule.</summary>
    private sealed class Pace(int perSecond)
    {
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _ticks;

        public Task WaitAsync(CancellationToken stop)
        {
            _ticks++;
            TimeSpan due = TimeSpan.FromSeconds((double)_ticks / perSecond) - _clock.Elapsed;
            return due > TimeSpan.Zero ? Task.Delay(due, stop) : Task.CompletedTask;
        }
    }
}
