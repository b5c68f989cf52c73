namespace Engine.Protocol;

/// <summary>What RFC 6455 says of an opcode, as extension methods over <see cref="Opcode"/>.</summary>
internal static class OpcodeExtensions
{
    // RFC 6455 §5.5: control frames are those whose opcode has the high bit set.
    public static bool IsControl(this Opcode opcode) => ((byte)opcode & 0x8) != 0;

    public static bool IsDefined(this Opcode opcode) => opcode is Opcode.Continuation or Opcode.Text or Opcode.Binary
        or Opcode.Close or Opcode.Ping or Opcode.Pong;
}
