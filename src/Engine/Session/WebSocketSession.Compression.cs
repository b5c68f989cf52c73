using System.Buffers;
using Engine.Compression;
using Engine.Protocol;

namespace Engine.Session;

// permessage-deflate (RFC 7692) on the receive side: RSV1 rules, inflating while the message arrives with the size
// limit applied to inflated bytes as they come out (a decompression bomb stops at MaxMessageSize + 1 bytes of output).
internal sealed partial class WebSocketSession
{
    // Scratch for streamed delivery of inflated data; big enough that one frame rarely needs several callbacks.
    private const int StreamedInflateChunk = 16 * 1024;

    // Whether the message being received is compressed, its inflated size and scratch live in its MessageInProgress
    // (memory per idle connection); the deflate state shares the session's field with it (WebSocketSession.cs).

    /// <summary>Takes on the permessage-deflate the handshake agreed, if any.</summary>
    private void AdoptDeflate(in UpgradeAnswer answer)
    {
        if (answer.Extensions is not null)
        {
            System.Diagnostics.Debug.Assert(_messageOrDeflate is null, "no message is in progress during the handshake");
            _messageOrDeflate = new SessionDeflate(answer.Deflate, _settings.Compression!.Pool, _settings.Compression.Threshold);
        }
    }

    private ProtocolError CheckWithDeflate(in FrameHeader header)
    {
        ProtocolError error = FrameRules.Check(header, Message is not null, allowedRsv: FrameRules.Rsv1);
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message; control frames are never compressed and a
        // continuation never carries it.
        if (error == ProtocolError.None && header.Rsv != 0 && (header.IsControl || header.Opcode == Opcode.Continuation))
        {
            error = ProtocolError.ReservedBitsSet;
        }
        return error;
    }

    /// <summary>
    /// The wire-size limit of a data frame when deflate is agreed. A compressed message is held to the limit on its
    /// inflated size (in <see cref="ReceiveCompressed"/>); its wire size only gets the slack deflate's worst case needs.
    /// </summary>
    private long CompressedWireLimit(in FrameHeader header)
    {
        long limit = _settings.MaxMessageSize;
        bool compressed = Message is { } message ? message.Compressed : header.Rsv != 0;
        return compressed ? limit + (limit >> 6) + 1024 : limit;
    }

    private void BeginCompressedMessage()
    {
        MessageInProgress message = Message!;
        message.Compressed = true;
        message.Inflated = 0;
        Deflate!.BeginInflate();
    }

    /// <summary>Inflates one unmasked payload piece; false when the connection was failed (the caller stops reading).</summary>
    private bool ReceiveCompressed(ReadOnlySpan<byte> chunk, bool messageDone, long nowMs)
    {
        MessageInProgress message = Message!;
        Inflater inflater = Deflate!.Inflater;
        ReadOnlySpan<byte> input = chunk;
        bool tailFed = false;
        while (true)
        {
            if (input.IsEmpty && messageDone && !tailFed)
            {
                input = Inflater.FlushTail; // RFC 7692 §7.2.2: the sender stripped it, the receiver puts it back
                tailFed = true;
            }
            Span<byte> output = InflateSpace(message);
            OperationStatus status = inflater.Inflate(input, output, out int consumed, out int written);
            input = input.Slice(consumed);
            if (written > 0)
            {
                Span<byte> produced = output.Slice(0, written);
                message.Inflated += written;
                if (message.Inflated > _settings.MaxMessageSize)
                {
                    // The bytes up to the limit are judged first, as they are when they come out in an earlier read:
                    // text that breaks UTF-8 within the limit is 1007 however zlib's output was cut (found by afl-fuzz:
                    // fuzz/corpus/session/regression-utf8-before-size-split).
                    int withinLimit = written - (int)(message.Inflated - _settings.MaxMessageSize);
                    bool invalidText = message.Type == MessageType.Text && !message.Utf8.Append(produced.Slice(0, withinLimit));
                    Fail(invalidText ? ProtocolError.InvalidUtf8 : ProtocolError.MessageTooBig, nowMs);
                    return false;
                }
                if (message.Type == MessageType.Text && !message.Utf8.Append(produced))
                {
                    Fail(ProtocolError.InvalidUtf8, nowMs);
                    return false;
                }
                if (_settings.Streamed && State == SessionState.Open)
                {
                    _host.OnMessage(produced, message.Type, endOfMessage: false);
                }
            }
            // Checked after the output it came with: zlib may hand back inflated bytes together with the error, and those
            // bytes count against the size limit as they would have had the corrupt input arrived in a later read (so the
            // close code does not depend on the reads; found by afl-fuzz: fuzz/corpus/session/regression-close-code-split-*).
            if (status == OperationStatus.InvalidData)
            {
                Fail(ProtocolError.InvalidCompressedData, nowMs);
                return false;
            }
            // Output filled up: zlib may hold more back even with all input consumed, so go round again.
            if (status == OperationStatus.DestinationTooSmall || !input.IsEmpty || (messageDone && !tailFed))
            {
                continue;
            }
            break;
        }
        if (!messageDone)
        {
            return true;
        }
        if (message.Type == MessageType.Text && !message.Utf8.IsComplete)
        {
            Fail(ProtocolError.InvalidUtf8, nowMs);
            return false;
        }
        if (State == SessionState.Open)
        {
            if (_settings.Streamed)
            {
                _host.OnMessage(default, message.Type, endOfMessage: true);
            }
            else
            {
                _host.OnMessage(message.Assembly is null ? default : message.Assembly.AsSpan(0, (int)message.Inflated), message.Type, endOfMessage: true);
            }
        }
        ReleaseAssembly();
        EndCompressedMessage(failed: false);
        return true;
    }

    /// <summary>
    /// Where the next inflated bytes go: the message buffer (grown by doubling, never past MaxMessageSize + 1 so the
    /// limit check sees the overflow without inflating further), or the streamed scratch buffer.
    /// </summary>
    private Span<byte> InflateSpace(MessageInProgress message)
    {
        if (_settings.Streamed)
        {
            byte[] scratch = message.InflateScratch ??= _settings.MessageBuffers.Rent(StreamedInflateChunk);
            return scratch.AsSpan(0, StreamedInflateChunk);
        }
        long cap = _settings.MaxMessageSize + 1;
        int have = (int)message.Inflated;
        byte[]? assembly = message.Assembly;
        if (assembly is null || assembly.Length == have)
        {
            long size = Math.Min(cap, Math.Max(4096, have * 2L));
            byte[] larger = _settings.MessageBuffers.Rent((int)size);
            if (assembly is not null)
            {
                assembly.AsSpan(0, have).CopyTo(larger);
                _settings.MessageBuffers.Return(assembly);
            }
            message.Assembly = assembly = larger;
        }
        return assembly.AsSpan(have, (int)Math.Min(assembly.Length, cap) - have);
    }

    private void EndCompressedMessage(bool failed)
    {
        if (Message is not { Compressed: true } message)
        {
            return;
        }
        message.Compressed = false;
        message.Inflated = 0;
        if (message.InflateScratch is not null)
        {
            _settings.MessageBuffers.Return(message.InflateScratch);
            message.InflateScratch = null;
        }
        Deflate!.EndInflate(failed); // a compressed message began on it
    }

    /// <summary>Connection over: give back everything deflate holds (<see cref="Release"/>).</summary>
    private void ReleaseDeflate()
    {
        EndCompressedMessage(failed: true);
        if (_messageOrDeflate is SessionDeflate deflate)
        {
            deflate.Release();
            _messageOrDeflate = deflate.Message; // the message in progress, if any, for EndMessage
            deflate.Message = null;
        }
    }
}
