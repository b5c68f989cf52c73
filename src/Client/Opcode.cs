namespace Engine.Client;

/// <summary>RFC 6455 opcodes the client handles.</summary>
public enum Opcode : byte
{
    /// <summary>A continuation fragment.</summary>
    Continuation = 0x0,
    /// <summary>A text message (UTF-8).</summary>
    Text = 0x1,
    /// <summary>A binary message.</summary>
    Binary = 0x2,
    /// <summary>Close.</summary>
    Close = 0x8,
    /// <summary>Ping.</summary>
    Ping = 0x9,
    /// <summary>Pong.</summary>
    Pong = 0xA,
}
