using System.Net;
using Engine.Buffers;
using Engine.Transports;

namespace Engine.Fuzz;

/// <summary>A transport for the session target: it owns the send queue and drains it at once whenever the queue asks for a flush.</summary>
internal sealed class DrainingTransport(BlockPool pool, Action drain) : TransportConnection(new ConnectionBuffers(pool, SendLists.CreatePool(16), long.MaxValue))
{
    public override EndPoint? RemoteEndPoint => null;

    public override void RequestFlush() => drain();

    public override void Abort()
    {
    }

    protected override void ShutdownSend()
    {
    }

    protected override bool MarkHalfClosed() => !HalfClosed && (HalfClosed = true);

    private bool HalfClosed { get; set; }
}
