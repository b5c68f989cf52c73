using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Conformance.Cases;

namespace Conformance.Fuzzing;

/// <summary>
/// One fuzzing-client connection over a raw TCP socket, playing one case the way Autobahn's fuzzing client does.
/// </summary>
/// <remarks>
/// Autobahn runs on a single-threaded reactor; here every case callback, timer and received frame runs under
/// <see cref="_gate"/>, which gives the same one-event-at-a-time semantics. Writes go through a separate pump so a
/// 16 MiB send never stops us reading the echo (otherwise both sides' buffers fill and the case deadlocks).
/// Frames queued in one callback without <c>sync</c> leave in one socket write ("sent in one chop"); <c>sync</c>
/// frames and chopped pieces leave in writes of their own, as Autobahn's queued writes do.
/// </remarks>
public sealed partial class FuzzingConnection
{
    public enum ConnectionState { Connecting, Open, Closing, Closed }

    // Autobahn's protocol defaults for the fuzzing client.
    public static readonly TimeSpan OpenHandshakeTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan CloseHandshakeTimeout = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ServerConnectionDropTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Chopped pieces sleep this long between writes so the server really sees partial frames...</summary>
    private static readonly TimeSpan ChopDelay = TimeSpan.FromMilliseconds(1);

    /// <summary>...unless a send has more pieces than this (9.5.x chops 1 MiB into 512-16384 writes and measures time), then they only yield.</summary>
    private const int MaxDelayedChops = 200;

    /// <summary>Longest a timer waits for the writes queued before it to leave before its own delay starts.</summary>
    private static readonly TimeSpan WriteWaitLimit = TimeSpan.FromSeconds(5);

    private readonly object _gate = new();
    private readonly Channel<WriteUnit> _writes = Channel.CreateUnbounded<WriteUnit>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _clock = new();
    private readonly Case _case;
    private readonly MemoryStream _pending = new();
    // Timers started while frames were still pending: their clocks start after those frames leave.
    private readonly List<TaskCompletionSource> _afterPending = [];
    private Socket? _socket;

    private MemoryStream? _message;
    private int _messageOpcode;
    private bool _closeReceived;
    private int _streamMaskOffset;
    private bool _messageCompressed;
    private byte[]? _streamMask;

    public FuzzingConnection(Case @case)
    {
        _case = @case;
        @case.P = this;
    }

    public ConnectionState State { get; private set; } = ConnectionState.Connecting;
    public TrafficStats Traffic { get; } = new();

    // What happened, named as in Autobahn's case reports.
    public bool ConnectionWasOpen { get; private set; }
    public bool ClosedByMe { get; private set; }
    public bool FailedByMe { get; private set; }
    public bool DroppedByMe { get; private set; }
    public bool WasClean { get; private set; }
    public string? WasNotCleanReason { get; private set; }
    public bool WasServerConnectionDropTimeout { get; private set; }
    public bool WasCloseHandshakeTimeout { get; private set; }
    public bool WasOpenHandshakeTimeout { get; private set; }
    public int? LocalCloseCode { get; private set; }
    public int? RemoteCloseCode { get; private set; }
    public string? RemoteCloseReason { get; private set; }
    public string? HandshakeError { get; private set; }

    /// <summary>Milliseconds from the case's start (opening handshake done) to the TCP connection being gone.</summary>
    public long DurationMs { get; private set; }

    /// <summary>The permessage-deflate state the server agreed to, or null (Autobahn's <c>_perMessageCompress</c>).</summary>
    public ClientDeflate? Deflate { get; private set; }

    /// <summary>When set, <see cref="SendMessage"/> splits messages into frames of this size (Autobahn's autoFragmentSize).</summary>
    public int? AutoFragmentSize { get; set; }

    /// <summary>Wire log: a short line per notable event (frames, timers, drops), capped to keep reports small.</summary>
    public List<string> WireLog { get; } = new();

    /// <summary>Autobahn's <c>createWirelog</c>: the performance cases switch it off.</summary>
    public bool CreateWireLog { get; set; } = true;

    /// <summary>Connects, performs the opening handshake, plays the case and returns when the TCP connection is gone.</summary>
    public async Task RunAsync(Uri url, TimeSpan hardLimit, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket = socket;
        try
        {
            using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshakeTimeout.CancelAfter(OpenHandshakeTimeout);
            await socket.ConnectAsync(url.Host, url.Port, handshakeTimeout.Token);
            var leftover = await HandshakeAsync(socket, url, handshakeTimeout.Token);
            lock (_gate)
            {
                State = ConnectionState.Open;
                ConnectionWasOpen = true;
                _clock.Start();
                _ = PumpWritesAsync(socket);
                _ = ReceiveLoopAsync(socket, leftover);
                Log("OPEN");
                Run(_case.OnOpen);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or InvalidDataException)
        {
            WasOpenHandshakeTimeout = e is OperationCanceledException;
            HandshakeError ??= e.Message;
            socket.Dispose();
            lock (_gate)
            {
                ConnectionLost();
            }
            await _lost.Task;
            return;
        }

        // A backstop well beyond every case's own timers: a case must always end.
        var finished = await Task.WhenAny(_lost.Task, Task.Delay(hardLimit, cancellationToken));
        if (finished != _lost.Task)
        {
            lock (_gate)
            {
                Log("HARD LIMIT");
                FailConnection("the case exceeded its hard time limit");
            }
        }
        await _lost.Task;
    }

    // ---- Case-facing API (call only from case callbacks, which run under the gate) ----

    /// <summary>Queues one frame (Autobahn's <c>sendFrame</c>).</summary>
    public void SendFrame(int opcode, ReadOnlySpan<byte> payload = default, bool fin = true, int rsv = 0, long? payloadLength = null, int? chopSize = null, bool sync = false, byte[]? mask = null)
    {
        if (State is ConnectionState.Closed or ConnectionState.Connecting)
        {
            return;
        }
        var frame = FrameBuilder.Build(opcode, payload, fin, rsv, payloadLength, mask);
        TrafficStats.Count(Traffic.TxFrames, opcode);
        if (CreateWireLog)
        {
            Log($"TF op={opcode} fin={fin} rsv={rsv} len={payloadLength ?? payload.Length}{(chopSize is { } c ? $" chop={c}" : "")}{(sync ? " sync" : "")}");
        }
        Write(frame, chopSize, sync);
    }

    public void SendFrame(int opcode, string payload, bool fin = true, int rsv = 0, long? payloadLength = null, int? chopSize = null, bool sync = false) =>
        SendFrame(opcode, Encoding.UTF8.GetBytes(payload), fin, rsv, payloadLength, chopSize, sync);

    /// <summary>
    /// Sends a message, fragmented into frames of <paramref name="fragmentSize"/> (or <see cref="AutoFragmentSize"/>) when
    /// given. With permessage-deflate agreed the message is compressed first and the compressed bytes are fragmented,
    /// RSV1 on the first frame only (RFC 7692 §6).
    /// </summary>
    public void SendMessage(ReadOnlySpan<byte> payload, bool binary, int? fragmentSize = null)
    {
        var opcode = binary ? 2 : 1;
        int rsv = 0;
        if (Deflate is not null)
        {
            payload = Deflate.Compress(payload);
            rsv = 4;
        }
        var size = fragmentSize ?? AutoFragmentSize;
        if (size is not { } n || n <= 0 || payload.Length <= n)
        {
            SendFrame(opcode, payload, rsv: rsv);
            return;
        }
        for (int offset = 0; offset < payload.Length; offset += n)
        {
            var piece = payload.Slice(offset, Math.Min(n, payload.Length - offset));
            SendFrame(offset == 0 ? opcode : 0, piece, fin: offset + n >= payload.Length, rsv: offset == 0 ? rsv : 0);
        }
    }

    /// <summary>Starts one text frame of a declared length whose payload follows in later writes (Autobahn's beginMessageFrame).</summary>
    public void BeginMessageFrame(long length)
    {
        _streamMask = RandomNumberGenerator.GetBytes(4);
        _streamMaskOffset = 0;
        var header = FrameBuilder.Build(1, default, fin: true, payloadLength: length, mask: _streamMask);
        TrafficStats.Count(Traffic.TxFrames, 1);
        Log($"TF op=1 fin=True streamed len={length}");
        Write(header.AsSpan(0, header.Length - (int)length).ToArray(), null, sync: true);
    }

    /// <summary>Continues the frame begun by <see cref="BeginMessageFrame"/> with more (masked) payload.</summary>
    public void SendMessageFrameData(ReadOnlySpan<byte> data)
    {
        if (State is ConnectionState.Closed || _streamMask is null)
        {
            return;
        }
        var masked = data.ToArray();
        for (int i = 0; i < masked.Length; i++)
        {
            masked[i] ^= _streamMask[(_streamMaskOffset + i) & 3];
        }
        _streamMaskOffset += masked.Length;
        Log($"TO streamed {masked.Length} octets");
        Write(masked, null, sync: true);
    }

    /// <summary>Autobahn's <c>sendClose</c>: starts the closing handshake if the connection is open.</summary>
    public void SendClose(int? code = null, byte[]? reason = null) => SendCloseFrame(code, reason);

    /// <summary>
    /// Autobahn's <c>sendCloseFrame</c>: sends a Close with the code and raw reason as given (no validation, cases send
    /// invalid ones on purpose), moves to CLOSING and arms the closing-handshake timeout. Ignored unless OPEN.
    /// </summary>
    public void SendCloseFrame(int? code = null, byte[]? reason = null, bool isReply = false)
    {
        if (State != ConnectionState.Open)
        {
            return;
        }
        SendFrame(8, FrameBuilder.ClosePayload(code, reason));
        State = ConnectionState.Closing;
        ClosedByMe = !isReply;
        LocalCloseCode = code;
        if (ClosedByMe)
        {
            After(CloseHandshakeTimeout, () =>
            {
                if (State == ConnectionState.Closing && !_closeReceived)
                {
                    WasCloseHandshakeTimeout = true;
                    WasClean = false;
                    WasNotCleanReason = "peer did not finish (in time) the closing handshake";
                    Drop();
                }
            });
        }
    }

    /// <summary>Fails the connection (by dropping TCP) after <paramref name="seconds"/> unless it is gone by then.</summary>
    public void KillAfter(double seconds)
    {
        Log($"KL {seconds}");
        After(TimeSpan.FromSeconds(seconds), () =>
        {
            Log("KLE");
            FailConnection("I failed the WebSocket connection by dropping the TCP connection");
        });
    }

    /// <summary>Starts the closing handshake (code 1000 omitted, like Autobahn's bare sendClose) after <paramref name="seconds"/>.</summary>
    public void CloseAfter(double seconds)
    {
        Log($"TI {seconds}");
        After(TimeSpan.FromSeconds(seconds), () =>
        {
            Log("TIE");
            SendClose();
        });
    }

    /// <summary>Runs <paramref name="continuation"/> after <paramref name="seconds"/> if the connection still exists.</summary>
    public void ContinueLater(double seconds, Action continuation, string? tag = null)
    {
        Log($"CT {seconds} {tag}");
        After(TimeSpan.FromSeconds(seconds), () =>
        {
            Log($"CTE {tag}");
            continuation();
        });
    }

    // ---- Internals ----

    private void After(TimeSpan delay, Action action)
    {
        // The delay counts from when the writes queued before it have left. Chopped pieces sleep between writes, and on
        // a loaded box 40 of them can take longer than a 1 s kill timer, which then fired before the server had even
        // received the frame it must fail on (case 3.4 failed so in one CI run). What a case means is "the server has
        // N s once it has the bytes"; Autobahn's single reactor gets there by sending before its timers run.
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_pending.Length == 0)
        {
            _writes.Writer.TryWrite(new WriteUnit([], null, written));
        }
        else
        {
            _afterPending.Add(written);
        }
        // A peer that stops reading can hold the writes forever: then the clock starts after WriteWaitLimit anyway.
        _ = Task.WhenAny(written.Task, Task.Delay(WriteWaitLimit))
            .ContinueWith(_ => Task.Delay(delay), TaskScheduler.Default).Unwrap().ContinueWith(_ =>
        {
            lock (_gate)
            {
                if (State != ConnectionState.Closed)
                {
                    Run(action);
                }
            }
        }, TaskScheduler.Default);
    }

    /// <summary>Runs a callback under the gate, then sends whatever it queued without sync as one write.</summary>
    private void Run(Action action)
    {
        action();
        FlushPending();
    }

    private void Write(byte[] data, int? chopSize, bool sync)
    {
        if (chopSize is null && !sync)
        {
            _pending.Write(data);
            return;
        }
        FlushPending();
        _writes.Writer.TryWrite(new WriteUnit(data, chopSize));
    }

    private void FlushPending()
    {
        if (_pending.Length == 0)
        {
            return;
        }
        _writes.Writer.TryWrite(new WriteUnit(_pending.ToArray(), null));
        _pending.SetLength(0);
        foreach (TaskCompletionSource written in _afterPending)
        {
            _writes.Writer.TryWrite(new WriteUnit([], null, written));
        }
        _afterPending.Clear();
    }

    private async Task PumpWritesAsync(Socket socket)
    {
        try
        {
            await foreach (var unit in _writes.Reader.ReadAllAsync())
            {
                if (unit.Written is { } written)
                {
                    written.TrySetResult();
                    continue;
                }
                if (unit.ChopSize is not { } chop || chop <= 0 || chop >= unit.Data.Length)
                {
                    await socket.SendAsync(unit.Data, SocketFlags.None);
                    Traffic.AddTx(unit.Data.Length);
                    continue;
                }
                int pieces = (unit.Data.Length + chop - 1) / chop;
                for (int offset = 0; offset < unit.Data.Length; offset += chop)
                {
                    var piece = unit.Data.AsMemory(offset, Math.Min(chop, unit.Data.Length - offset));
                    await socket.SendAsync(piece, SocketFlags.None);
                    Traffic.AddTx(piece.Length);
                    if (pieces <= MaxDelayedChops)
                    {
                        await Task.Delay(ChopDelay);
                    }
                    else
                    {
                        await Task.Yield();
                    }
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The connection is gone; the receive side reports the loss.
        }
    }

    private void FailConnection(string reason)
    {
        if (State == ConnectionState.Closed)
        {
            return;
        }
        FailedByMe = true;
        WasClean = false;
        WasNotCleanReason = reason;
        Drop();
    }

    /// <summary>Drops the TCP connection ourselves (an abortive close, as Autobahn's dropConnection(abort=True)).</summary>
    private void Drop()
    {
        if (State == ConnectionState.Closed || DroppedByMe)
        {
            return;
        }
        DroppedByMe = true;
        Log("DROP");
        try
        {
            _socket?.Close(0);
        }
        catch (SocketException)
        {
        }
        ConnectionLost();
    }

    /// <summary>The TCP connection is gone (either side): grade the case once.</summary>
    private void ConnectionLost()
    {
        if (State == ConnectionState.Closed)
        {
            return;
        }
        State = ConnectionState.Closed;
        DurationMs = _clock.ElapsedMilliseconds;
        Deflate?.Dispose();
        _writes.Writer.TryComplete();
        if (!WasClean && !DroppedByMe && WasNotCleanReason is null)
        {
            WasNotCleanReason = "peer dropped the TCP connection without previous WebSocket closing handshake";
        }
        try
        {
            _case.OnConnectionLost();
        }
        finally
        {
            _lost.TrySetResult();
        }
    }

    private void Log(string line)
    {
        if (CreateWireLog && WireLog.Count < 200)
        {
            WireLog.Add($"{_clock.ElapsedMilliseconds,6} {line}");
        }
    }

    /// <summary>Bytes to send, or (with <see cref="Written"/>) a marker completed once everything queued before it has left.</summary>
    private readonly record struct WriteUnit(byte[] Data, int? ChopSize, TaskCompletionSource? Written = null);
}
