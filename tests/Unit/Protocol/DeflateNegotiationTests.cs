using System.Text;
using Engine.Protocol;

namespace Engine.Tests.Unit.Protocol;

/// <summary>RFC 7692 §5 and §7.1 negotiation, table-driven over header values.</summary>
public sealed class DeflateNegotiationTests
{
    private static readonly DeflateConfig Defaults = new(15, 15, ServerNoContextTakeover: false, ClientNoContextTakeover: false);

    public static TheoryData<string, string?> Offers() => new()
    {
        // offer header value -> expected answer (null: declined)
        { "permessage-deflate", "permessage-deflate" },
        { "PerMessage-Deflate", "permessage-deflate" },
        { "permessage-deflate; client_max_window_bits", "permessage-deflate" },
        { "permessage-deflate; client_max_window_bits=10", "permessage-deflate; client_max_window_bits=10" },
        { "permessage-deflate; client_max_window_bits=\"10\"", "permessage-deflate; client_max_window_bits=10" },
        { "permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits=8" },
        { "permessage-deflate; server_max_window_bits=15", "permessage-deflate; server_max_window_bits=15" },
        { "permessage-deflate;server_no_context_takeover;client_no_context_takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover" },
        { "permessage-deflate ; server_no_context_takeover ; client_max_window_bits = 9", "permessage-deflate; server_no_context_takeover; client_max_window_bits=9" },
        // declined offers fall through to the next one
        { "permessage-deflate; server_max_window_bits", null },
        { "permessage-deflate; server_max_window_bits=7", null },
        { "permessage-deflate; server_max_window_bits=16", null },
        { "permessage-deflate; server_max_window_bits=08", null },
        { "permessage-deflate; client_max_window_bits=abc", null },
        { "permessage-deflate; server_no_context_takeover=1", null },
        { "permessage-deflate; client_no_context_takeover; client_no_context_takeover", null },
        { "permessage-deflate; unknown", null },
        { "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11", null },
        { "permessage-deflate; unknown, permessage-deflate; client_max_window_bits", "permessage-deflate" },
        { "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=9", "permessage-deflate; server_max_window_bits=9" },
        { "foo; bar=\"a,b;c\", permessage-deflate", "permessage-deflate" },
        { "permessage-deflate; server_max_window_bits=10, permessage-deflate", "permessage-deflate; server_max_window_bits=10" },
        // not extension syntax: nothing trusted
        { "permessage-deflate; =3", null },
        { "permessage-deflate; client_max_window_bits=\"10", null },
        { "x-other", null },
        { "", null },
    };

    [Theory]
    [MemberData(nameof(Offers))]
    public void Answers_the_first_acceptable_offer(string offer, string? expected)
    {
        Assert.Equal(expected, Negotiate(offer, Defaults, out _));
    }

    [Fact]
    public void The_server_limits_what_it_may_and_asks_for_no_context_takeover_when_configured()
    {
        var config = new DeflateConfig(ServerMaxWindowBits: 12, ClientMaxWindowBits: 10, ServerNoContextTakeover: true, ClientNoContextTakeover: true);

        string? answer = Negotiate("permessage-deflate; client_max_window_bits", config, out DeflateParameters agreed);

        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=10", answer);
        Assert.Equal(new DeflateParameters(12, 10, true, true), agreed);
        Assert.Equal("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
            Negotiate("permessage-deflate; server_max_window_bits=9; client_max_window_bits=13", config, out agreed));
        Assert.Equal(new DeflateParameters(9, 10, true, true), agreed);
        // Without client_max_window_bits in the offer the client's window cannot be limited (§7.1.2.2): 15.
        Negotiate("permessage-deflate", config, out agreed);
        Assert.Equal(15, agreed.ClientWindowBits);
    }

    [Fact]
    public void Several_header_lines_are_tried_in_order()
    {
        string request = "GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: permessage-deflate; bogus\r\n"
            + "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=11\r\n\r\n";
        byte[] bytes = Encoding.ASCII.GetBytes(request);
        HttpRequestHead head = default;
        Assert.Equal(System.Buffers.OperationStatus.Done, HttpRequestParser.TryParse(bytes, 8192, ref head, out _));

        Assert.Equal("permessage-deflate; client_max_window_bits=11", DeflateNegotiation.Negotiate(bytes, head, Defaults, out _));
    }

    private static string? Negotiate(string offer, DeflateConfig config, out DeflateParameters agreed)
    {
        byte[] bytes = Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Extensions: {offer}\r\n\r\n");
        HttpRequestHead head = default;
        Assert.Equal(System.Buffers.OperationStatus.Done, HttpRequestParser.TryParse(bytes, 8192, ref head, out _));
        return DeflateNegotiation.Negotiate(bytes, head, config, out agreed);
    }
}
