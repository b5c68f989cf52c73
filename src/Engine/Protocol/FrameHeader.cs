namespace Engine.Protocol;

/// <summary>A decoded frame header (RFC 6455 §5.2). Plain data; <see cref="FrameReader"/> fills it.</summary>
internal struct FrameHeader
{
    public bool Fin;
    /// <summary>RSV1..RSV3 as bits 2..0 (RSV1 = 4).</summary>
    public byte Rsv;
    public Opcode Opcode;
    public bool Masked;
    public long PayloadLength;
    /// <summary>The masking key as the four wire bytes read in memory order.</summary>
    public uint MaskKey;
    public int HeaderLength;

    public readonly bool IsControl => Opcode.IsControl();
}
