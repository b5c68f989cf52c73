using System.Net.WebSockets;

namespace Engine.Tests.Support;

/// <summary>Whole messages from a <see cref="WebSocket"/> (ClientWebSocket, or one over a stream) for tests.</summary>
internal static class WebSocketMessages
{
    /// <summary>
    /// Reads frames until the end of one message and returns its type and bytes. Each read waits at most TestTimeouts.Hang, so a
    /// server that never answers fails the test instead of hanging the run; no healthy echo here takes a second.
    /// </summary>
    public static async Task<(WebSocketMessageType Type, byte[] Payload)> ReceiveAsync(WebSocket client)
    {
        var message = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var timeout = new CancellationTokenSource(TestTimeouts.Hang);
            var result = await client.ReceiveAsync(buffer, timeout.Token);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, message.ToArray());
            }
        }
    }
}
