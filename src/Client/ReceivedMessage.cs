namespace Engine.Client;

/// <summary>A received message: its opcode (<see cref="Opcode.Text"/>, <see cref="Opcode.Binary"/> or <see cref="Opcode.Close"/>) and payload.</summary>
/// <param name="Type">Text, Binary, or Close (then <paramref name="CloseCode"/> and <paramref name="CloseReason"/> are set).</param>
/// <param name="Payload">The whole message (fragments joined). Owned by the caller.</param>
/// <param name="CloseCode">The peer's close code (1005 when it sent none).</param>
/// <param name="CloseReason">The peer's close reason.</param>
public readonly record struct ReceivedMessage(Opcode Type, byte[] Payload, int CloseCode = 0, string CloseReason = "");
