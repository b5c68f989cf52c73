using System.Buffers;
using System.Text.Unicode;
using Engine.Protocol;
using Engine.Timers;

namespace Engine.Session;

internal sealed partial class WebSocketSession
{
    private int ReceiveFrames(Span<byte> input, long nowMs)
    {
        int position = 0;
        while (true)
        {
            SessionState state = State;
            if (state is not (SessionState.Open or SessionState.CloseSent))
            {
                return input.Length; // closed: what follows the close frame is discarded
            }
            Span<byte> rest = input.Slice(position);
            MessageInProgress? message = Message;
            if (message is not { InFrame: true })
            {
                OperationStatus status = FrameReader.TryReadHeader(rest, out FrameHeader header, out int headerLength);
                if (status == OperationStatus.NeedMoreData)
                {
                    return position;
                }
                bool inMessage = message is not null;
                ProtocolError error = status == OperationStatus.InvalidData
                    ? ProtocolError.InvalidLength
                    : Deflate is null ? FrameRules.Check(header, inMessage, allowedRsv: 0) : CheckWithDeflate(header);
                if (error == ProtocolError.None && !header.IsControl
                    && ((message?.Length ?? 0) + header.PayloadLength > (Deflate is null ? _settings.MaxMessageSize : CompressedWireLimit(header))
                        || (inMessage && message!.Frames >= _settings.MaxFragmentsPerMessage)))
                {
                    error = ProtocolError.MessageTooBig;
                }
                if (error != ProtocolError.None)
                {
                    Fail(error, nowMs);
                    return input.Length;
                }
                if (header.IsControl)
                {
                    // Control frames are at most 125 bytes: wait until one is whole, then handle it in place.
                    int frameLength = headerLength + (int)header.PayloadLength;
                    if (rest.Length < frameLength)
                    {
                        return position;
                    }
                    Span<byte> body = rest.Slice(headerLength, (int)header.PayloadLength);
                    Masking.Apply(body, header.MaskKey, 0);
                    position += frameLength;
                    OnControlFrame(header.Opcode, body, nowMs);
                    continue;
                }
                position += headerLength;
                rest = rest.Slice(headerLength);
                if (!inMessage && header.Fin && rest.Length >= header.PayloadLength && !_settings.Streamed && header.Rsv == 0)
                {
                    // Fast path: a whole unfragmented message in the buffer is delivered in place, with no copy.
                    Span<byte> payload = rest.Slice(0, (int)header.PayloadLength);
                    Masking.Apply(payload, header.MaskKey, 0);
                    position += payload.Length;
                    if (header.Opcode == Opcode.Text && !Utf8.IsValid(payload))
                    {
                        Fail(ProtocolError.InvalidUtf8, nowMs);
                        return input.Length;
                    }
                    if (state == SessionState.Open)
                    {
                        _host.OnMessage(payload, (MessageType)header.Opcode, endOfMessage: true);
                    }
                    continue;
                }
                if (message is null)
                {
                    message = Message = _settings.Messages.Get();
                    message.Begin(header);
                    if (header.Rsv != 0)
                    {
                        BeginCompressedMessage(); // RSV1, the only bit CheckWithDeflate lets through
                    }
                }
                message.Frames++;
                message.InFrame = true;
                message.Frame = header;
                message.FrameRemaining = header.PayloadLength;
                message.MaskOffset = 0;
            }

            // Payload of a data frame, streamed as it arrives: unmask, validate, then assemble or hand on.
            int take = (int)Math.Min(message.FrameRemaining, rest.Length);
            Span<byte> chunk = rest.Slice(0, take);
            message.MaskOffset = (byte)Masking.Apply(chunk, message.Frame.MaskKey, message.MaskOffset);
            position += take;
            message.FrameRemaining -= take;
            message.Length += take;
            bool frameDone = message.FrameRemaining == 0;
            bool messageDone = frameDone && message.Frame.Fin;
            if (message.Compressed)
            {
                message.InFrame = !frameDone;
                if (!ReceiveCompressed(chunk, messageDone, nowMs))
                {
                    return input.Length;
                }
            }
            else if (message.Type == MessageType.Text && (!message.Utf8.Append(chunk) || (messageDone && !message.Utf8.IsComplete)))
            {
                Fail(ProtocolError.InvalidUtf8, nowMs);
                return input.Length;
            }
            else
            {
                if (frameDone)
                {
                    message.InFrame = false;
                }
                if (_settings.Streamed)
                {
                    if ((take > 0 || messageDone) && State == SessionState.Open)
                    {
                        _host.OnMessage(chunk, message.Type, messageDone);
                    }
                }
                else
                {
                    AppendToAssembly(message, chunk, frameDone ? 0 : message.FrameRemaining);
                    if (messageDone)
                    {
                        if (State == SessionState.Open)
                        {
                            _host.OnMessage(message.Assembly.AsSpan(0, (int)message.Length), message.Type, endOfMessage: true);
                        }
                        ReleaseAssembly();
                    }
                }
            }
            if (messageDone)
            {
                EndMessage();
            }
            if (!frameDone)
            {
                return position; // the rest of this frame's payload has not arrived yet
            }
        }
    }

    private void OnControlFrame(Opcode opCode, ReadOnlySpan<byte> body, long nowMs)
    {
        switch (opCode)
        {
            case Opcode.Ping:
                // §5.5.2: answer with a pong carrying the same payload, unless we already sent our close.
                if (State == SessionState.Open)
                {
                    WriteFrame(Opcode.Pong, body, long.MaxValue, final: false);
                }
                break;
            case Opcode.Pong:
                // §5.5.3: unsolicited pongs are allowed and need no answer; any pong proves the peer alive.
                Volatile.Write(ref _awaitingPong, 0);
                break;
            case Opcode.Close:
                ProtocolError error = CloseFrames.TryParse(body, out CloseCode code, out ReadOnlySpan<byte> reason);
                if (error != ProtocolError.None)
                {
                    Fail(error, nowMs);
                    return;
                }
                OnCloseFrame(code, reason, nowMs);
                break;
        }
    }

    private void OnCloseFrame(CloseCode code, ReadOnlySpan<byte> reason, long nowMs)
    {
        if (Interlocked.CompareExchange(ref _state, (byte)SessionState.Closed, (byte)SessionState.Open) == (byte)SessionState.Open)
        {
            // §5.5.1: answer with a close frame, echoing the status code received.
            Span<byte> body = stackalloc byte[2];
            QueueFinalFrame(body.Slice(0, CloseFrames.WriteBody(body, code)));
        }
        else
        {
            // Our close was answered: the handshake is complete.
            Volatile.Write(ref _state, (byte)SessionState.Closed);
        }
        ArmCloseDeadline(nowMs);
        _host.OnClosed(code, reason);
    }

    /// <summary>§7.1.7 "Fail the WebSocket Connection": send the close code for the error, stop reading frames.</summary>
    private void Fail(ProtocolError error, long nowMs)
    {
        var code = error.ToCloseCode();
        _host.OnProtocolError(error);
        byte previous = Interlocked.Exchange(ref _state, (byte)SessionState.Closed);
        if (previous == (byte)SessionState.Open)
        {
            Span<byte> body = stackalloc byte[FrameRules.MaxControlPayload];
            QueueFinalFrame(body.Slice(0, CloseFrames.WriteBody(body, code, error.Describe())));
        }
        ReleaseAssembly();
        EndCompressedMessage(failed: true);
        EndMessage();
        ArmCloseDeadline(nowMs);
        _host.OnClosed(code, System.Text.Encoding.ASCII.GetBytes(error.Describe()));
    }

    /// <summary>Copies a chunk into the message buffer, sized from what the frame header announced so big frames grow once.</summary>
    private void AppendToAssembly(MessageInProgress message, ReadOnlySpan<byte> chunk, long frameRemaining)
    {
        long have = message.Length - chunk.Length;
        long needed = message.Length + frameRemaining;
        byte[]? assembly = message.Assembly;
        if (assembly is null || assembly.Length < needed)
        {
            long size = Math.Max(needed, Math.Min(_settings.MaxMessageSize, Math.Max(4096, (assembly?.Length ?? 0) * 2L)));
            byte[] larger = _settings.MessageBuffers.Rent((int)Math.Max(size, needed));
            if (assembly is not null)
            {
                assembly.AsSpan(0, (int)have).CopyTo(larger);
                _settings.MessageBuffers.Return(assembly);
            }
            message.Assembly = assembly = larger;
        }
        chunk.CopyTo(assembly.AsSpan((int)have));
    }

    private void ReleaseAssembly()
    {
        if (Message is { Assembly: { } assembly } message)
        {
            _settings.MessageBuffers.Return(assembly);
            message.Assembly = null;
        }
    }

    /// <summary>
    /// The message in progress is over (delivered, failed, or the connection ended): its state goes back to the server's
    /// pool. Its buffers are given back before this (<see cref="ReleaseAssembly"/>, <see cref="EndCompressedMessage"/>).
    /// </summary>
    private void EndMessage()
    {
        MessageInProgress? message = Message;
        if (message is null)
        {
            return;
        }
        ReleaseAssembly(); // already given back where a message is delivered; not where one failed or was cut off
        Message = null;
        _settings.Messages.Return(message);
    }
}
