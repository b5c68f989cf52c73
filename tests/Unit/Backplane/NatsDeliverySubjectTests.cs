using Engine.Backplane;

namespace Engine.Tests.Unit.Backplane;

/// <summary>
/// The stream sequence (a channel message's offset) is read from a JetStream delivery's reply subject; heartbeats and
/// flow-control messages have none and must not be taken for messages.
/// </summary>
public sealed class NatsDeliverySubjectTests
{
    [Theory]
    // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
    [InlineData("$JS.ACK.WS_H_ABC.c1.1.42.7.1796211328216603921.0", 42UL)]
    [InlineData("$JS.ACK.WS_H_ABC.c1.3.1.1.1796211328216603921.5", 1UL)]
    // With JetStream domain and account hash: $JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<stream seq>...
    [InlineData("$JS.ACK.hub.ACCHASH.WS_H_ABC.c1.1.9000000000.12.1796211328216603921.0.rnd", 9000000000UL)]
    public void Reads_the_stream_sequence(string replyTo, ulong expected)
    {
        Assert.True(NatsHistoryBackplane.TryStreamSequence(replyTo, out ulong sequence));
        Assert.Equal(expected, sequence);
    }

    [Theory]
    [InlineData(null)]                                        // idle heartbeat: no reply subject
    [InlineData("$JS.FC.WS_H_ABC.c1.x")]                      // flow control
    [InlineData("_INBOX.abc")]
    [InlineData("$JS.ACK.WS_H_ABC.c1.1.0.7.1796211328216603921.0")]  // sequence 0 is no message
    [InlineData("$JS.ACK.WS_H_ABC.c1.1.-5.7.1796211328216603921.0")]
    [InlineData("$JS.ACK.WS_H_ABC.c1.1.42")]                 // too few tokens
    public void Refuses_what_is_not_a_delivered_message(string? replyTo)
    {
        Assert.False(NatsHistoryBackplane.TryStreamSequence(replyTo, out _));
    }
}
