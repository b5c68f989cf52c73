using System.Buffers;
using Engine.Compression;

namespace Conformance.Fuzzing;

/// <summary>
/// The fuzzing client's side of permessage-deflate (RFC 7692), as Autobahn's client plays it: compress every message,
/// inflate every RSV1 message, with the parameters the server answered. The inflater uses exactly the window the
/// server agreed to (8 included) and is reset after every message when the server promised no context takeover, so a
/// server that breaks either promise fails the case.
/// </summary>
public sealed class ClientDeflate : IDisposable
{
    private readonly Deflater _deflater;
    private readonly Inflater _inflater;

    private ClientDeflate(bool serverNoContextTakeover, bool clientNoContextTakeover, int serverWindowBits, int clientWindowBits)
    {
        ServerNoContextTakeover = serverNoContextTakeover;
        ClientNoContextTakeover = clientNoContextTakeover;
        ServerWindowBits = serverWindowBits;
        ClientWindowBits = clientWindowBits;
        // Level 1: the client's effort is not what is graded, and sections 12/13 compress 10 GB per agent.
        _deflater = new Deflater(clientWindowBits, memoryLevel: 8, level: 1);
        _inflater = new Inflater(serverWindowBits, exact: true);
    }

    public bool ServerNoContextTakeover { get; }
    public bool ClientNoContextTakeover { get; }
    public int ServerWindowBits { get; }
    public int ClientWindowBits { get; }

    /// <summary>The response header Autobahn's PerMessageDeflateOffer sends (client_no_context_takeover and client_max_window_bits accepted, plus requests).</summary>
    public static string Offer(bool requestNoContextTakeover, int requestMaxWindowBits) =>
        "permessage-deflate; client_no_context_takeover; client_max_window_bits"
        + (requestNoContextTakeover ? "; server_no_context_takeover" : "")
        + (requestMaxWindowBits != 0 ? $"; server_max_window_bits={requestMaxWindowBits}" : "");

    /// <summary>Parses the server's answer; null with <paramref name="error"/> set when it is not a valid answer to <paramref name="offer"/>.</summary>
    public static ClientDeflate? FromResponse(string answer, string offer, out string? error)
    {
        error = null;
        string[] parts = answer.Split(';', StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || !parts[0].Equals("permessage-deflate", StringComparison.OrdinalIgnoreCase) || answer.Contains(','))
        {
            error = $"server answered an extension we did not offer: {answer}";
            return null;
        }
        bool serverNoContext = false, clientNoContext = false;
        int serverBits = 15, clientBits = 15;
        foreach (string part in parts.Skip(1))
        {
            string[] nv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            string name = nv[0].ToLowerInvariant();
            string? value = nv.Length > 1 ? nv[1].Trim('"') : null;
            switch (name)
            {
                case "server_no_context_takeover" when value is null:
                    serverNoContext = true;
                    break;
                case "client_no_context_takeover" when value is null:
                    clientNoContext = true;
                    break;
                case "server_max_window_bits" when int.TryParse(value, out int s) && s is >= 8 and <= 15:
                    serverBits = s;
                    break;
                case "client_max_window_bits" when offer.Contains("client_max_window_bits") && int.TryParse(value, out int c) && c is >= 8 and <= 15:
                    clientBits = c;
                    break;
                default:
                    error = $"invalid permessage-deflate answer: {answer}";
                    return null;
            }
        }
        // §7.1.2.1: the server may not answer a larger window than the client asked for.
        var requested = System.Text.RegularExpressions.Regex.Match(offer, "server_max_window_bits=(\\d+)");
        if (requested.Success && serverBits > int.Parse(requested.Groups[1].Value))
        {
            error = $"server_max_window_bits above the offer: {answer}";
            return null;
        }
        if (offer.Contains("server_no_context_takeover") && !serverNoContext)
        {
            error = $"server ignored the server_no_context_takeover request: {answer}";
            return null;
        }
        return new ClientDeflate(serverNoContext, clientNoContext, serverBits, clientBits);
    }

    /// <summary>Compresses one message, flush tail stripped (RFC 7692 §7.2.1).</summary>
    public byte[] Compress(ReadOnlySpan<byte> payload)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Deflater.MaxOutputLength(payload.Length));
        try
        {
            int length = _deflater.Compress(payload, buffer, resetContext: ClientNoContextTakeover);
            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Inflates one whole received message; null when it is not valid deflate data.</summary>
    public byte[]? Inflate(byte[] compressed)
    {
        var output = new MemoryStream(Math.Max(256, compressed.Length * 4));
        byte[] chunk = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            foreach (byte[] input in new[] { compressed, [0x00, 0x00, 0xFF, 0xFF] })
            {
                ReadOnlySpan<byte> rest = input;
                while (true)
                {
                    OperationStatus status = _inflater.Inflate(rest, chunk, out int consumed, out int written);
                    if (status == OperationStatus.InvalidData)
                    {
                        _inflater.Reset();
                        return null;
                    }
                    output.Write(chunk, 0, written);
                    rest = rest.Slice(consumed);
                    if (status == OperationStatus.Done && rest.IsEmpty)
                    {
                        break;
                    }
                }
            }
            _inflater.EndMessage(keepContext: !ServerNoContextTakeover);
            return output.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    public void Dispose()
    {
        _deflater.Dispose();
        _inflater.Dispose();
    }
}
