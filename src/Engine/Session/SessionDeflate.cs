using Engine.Compression;
using Engine.Protocol;

namespace Engine.Session;

/// <summary>
/// A session's permessage-deflate state, which on a connection that agreed deflate also holds the session's data
/// message in progress: the session keeps one field for the two (memory per idle connection; see
/// <c>WebSocketSession.Message</c>). Sealed, so telling it from a <see cref="MessageInProgress"/> is one type compare.
/// </summary>
internal sealed class SessionDeflate(in DeflateParameters parameters, CompressionPool pool, int threshold)
    : PerMessageDeflate(parameters, pool, threshold)
{
    /// <summary>The message in progress, or null. The session's receive thread only.</summary>
    public MessageInProgress? Message;
}
