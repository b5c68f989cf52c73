using Engine.Protocol;
using Microsoft.Extensions.ObjectPool;

namespace Engine.Session;

/// <summary>
/// What a session knows about the data message it is receiving, from the first frame that does not arrive whole until
/// the message is delivered: made only then (from the server's pool), so an idle connection, or one whose messages each
/// arrive in one read, holds none of it (memory per idle connection).
/// </summary>
internal sealed class MessageInProgress
{
    /// <summary>The frame being read: its header is consumed, its payload maybe not.</summary>
    public bool InFrame;

    public FrameHeader Frame;
    public long FrameRemaining;
    public byte MaskOffset;

    public MessageType Type;
    public long Length;
    public int Frames;
    public Utf8Validator Utf8;

    /// <summary>The first frame had RSV1: the payload is inflated as it arrives.</summary>
    public bool Compressed;

    /// <summary>Bytes inflated so far (held to the size limit), and the scratch they go through when delivered in pieces.</summary>
    public long Inflated;

    public byte[]? InflateScratch;

    /// <summary>Where the message is assembled (a pooled buffer), unless delivered in pieces.</summary>
    public byte[]? Assembly;

    /// <summary>The server's pool of these; a returned one keeps no buffer (the session gave it back first).</summary>
    public static ObjectPool<MessageInProgress> CreatePool(int maxRetained) =>
        new DefaultObjectPool<MessageInProgress>(new DefaultPooledObjectPolicy<MessageInProgress>(), maxRetained);

    /// <summary>Starts a message whose first frame is <paramref name="header"/>.</summary>
    public void Begin(in FrameHeader header)
    {
        InFrame = false;
        Type = (MessageType)header.Opcode;
        Length = 0;
        Frames = 0;
        Utf8.Reset();
        Compressed = false;
        Inflated = 0;
        Assembly = null;
    }
}
