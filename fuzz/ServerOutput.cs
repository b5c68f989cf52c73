using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using Engine.Protocol;

namespace Engine.Fuzz;

/// <summary>What the server wrote to the peer, parsed and checked against RFC 9112 (the response head) and RFC 6455 (the frames).</summary>
internal sealed class ServerOutput
{
    /// <summary>The HTTP status, or 0 when nothing was sent.</summary>
    public int Status { get; private set; }

    /// <summary>The status code of the close frame sent (1005 for an empty body), or null when none was sent.</summary>
    public int? CloseCode { get; private set; }

    public int Frames { get; private set; }

    /// <summary>Where the close frame starts in the bytes sent, or null when none was sent.</summary>
    public int? CloseFrameOffset { get; private set; }

    /// <summary>The data frames (all sent whole), compressed ones inflated.</summary>
    public List<(MessageType Type, byte[] Payload)> DataFrames { get; } = [];

    private static ReadOnlySpan<byte> DeflateTail => [0x00, 0x00, 0xFF, 0xFF];

    public static ServerOutput Parse(ReadOnlySpan<byte> sent)
    {
        var output = new ServerOutput();
        if (sent.IsEmpty)
        {
            return output;
        }
        int headEnd = sent.IndexOf("\r\n\r\n"u8);
        FuzzInvariantException.Check(headEnd > 0, "the server sent bytes that do not start with a whole HTTP response head");
        ReadOnlySpan<byte> head = sent[..headEnd];
        FuzzInvariantException.Check(head.StartsWith("HTTP/1.1 "u8) && head.Length >= 12, "bad status line");
        FuzzInvariantException.Check(int.TryParse(head.Slice(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out int status)
            && status is >= 100 and <= 599 && (head.Length == 12 || head[12] == (byte)' '), "bad status code");
        output.Status = status;
        ReadOnlySpan<byte> rest = sent[(headEnd + 4)..];
        if (status != 101)
        {
            // An error or plain HTTP response ends the connection: its body, then nothing.
            int contentLength = ContentLength(head);
            FuzzInvariantException.Check(rest.Length == contentLength || rest.IsEmpty, $"{rest.Length} bytes after a {status} response with Content-Length {contentLength}");
            return output;
        }
        bool deflate = Encoding.ASCII.GetString(head).Contains("\r\nSec-WebSocket-Extensions: permessage-deflate", StringComparison.Ordinal);
        FuzzInvariantException.Check(!deflate || Encoding.ASCII.GetString(head).Contains("server_no_context_takeover", StringComparison.Ordinal),
            "deflate agreed without server_no_context_takeover although the server is configured for it");
        output.ParseFrames(rest, deflate, headEnd + 4);
        return output;
    }

    private static int ContentLength(ReadOnlySpan<byte> head)
    {
        string text = Encoding.ASCII.GetString(head);
        foreach (string line in text.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
            }
        }
        return 0;
    }

    private void ParseFrames(ReadOnlySpan<byte> rest, bool deflate, int offset)
    {
        // RFC 7692 §7.2.2: each compressed payload with the 00 00 FF FF tail put back; with server_no_context_takeover
        // (the fuzz server always answers it) each inflates on its own, here with the framework's DeflateStream.
        var compressed = new List<(int Frame, byte[] Payload)>();
        while (!rest.IsEmpty)
        {
            FuzzInvariantException.Check(CloseCode is null, "a frame after the server's close frame");
            FuzzInvariantException.Check(FrameReader.TryReadHeader(rest, out FrameHeader header, out int headerLength) == OperationStatus.Done,
                "an incomplete or invalid frame header from the server");
            FuzzInvariantException.Check(!header.Masked, "a masked server frame (RFC 6455 §5.1)");
            FuzzInvariantException.Check(header.Rsv == 0 || (deflate && header.Rsv == 4 && header.Opcode is Opcode.Text or Opcode.Binary),
                $"RSV bits {header.Rsv} on a server {header.Opcode} frame (deflate agreed: {deflate})");
            FuzzInvariantException.Check(header.Fin, "a fragmented server frame");
            FuzzInvariantException.Check(header.Opcode is Opcode.Text or Opcode.Binary or Opcode.Ping or Opcode.Pong or Opcode.Close,
                $"server frame opcode {header.Opcode}");
            FuzzInvariantException.Check(header.PayloadLength <= rest.Length - headerLength, "a server frame cut short");
            ReadOnlySpan<byte> payload = rest.Slice(headerLength, (int)header.PayloadLength);
            rest = rest[(headerLength + payload.Length)..];
            int frameOffset = offset;
            offset += headerLength + payload.Length;
            Frames++;
            if (header.IsControl)
            {
                FuzzInvariantException.Check(payload.Length <= FrameRules.MaxControlPayload, "a control frame over 125 bytes");
            }
            if (header.Opcode is Opcode.Text or Opcode.Binary)
            {
                if (header.Rsv == 4)
                {
                    compressed.Add((DataFrames.Count, [.. payload, .. DeflateTail]));
                }
                DataFrames.Add(((MessageType)header.Opcode, payload.ToArray()));
            }
            if (header.Opcode == Opcode.Close)
            {
                CloseFrameOffset = frameOffset;
                FuzzInvariantException.Check(payload.Length != 1, "a close frame with a 1-byte body");
                if (payload.IsEmpty)
                {
                    CloseCode = 1005;
                }
                else
                {
                    int code = BinaryPrimitives.ReadUInt16BigEndian(payload);
                    FuzzInvariantException.Check(CloseCodes.IsValidOnWire(code), $"the server sent close code {code}");
                    FuzzInvariantException.Check(Utf8Strict.IsValid(payload[2..]), "a close reason that is not UTF-8");
                    CloseCode = code;
                }
            }
        }
        foreach ((int frame, byte[] payload) in compressed)
        {
            using var stream = new DeflateStream(new MemoryStream(payload), CompressionMode.Decompress);
            using var inflated = new MemoryStream();
            stream.CopyTo(inflated);
            DataFrames[frame] = (DataFrames[frame].Type, inflated.ToArray());
        }
        foreach ((MessageType type, byte[] payload) in DataFrames)
        {
            FuzzInvariantException.Check(type != MessageType.Text || Utf8Strict.IsValid(payload), "a text frame that is not UTF-8");
        }
    }
}
