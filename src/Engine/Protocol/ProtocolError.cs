namespace Engine.Protocol;

/// <summary>Why the peer's bytes were refused. Bad input is a value; <see cref="ProtocolErrors.ToCloseCode"/> is the one table to close codes.</summary>
internal enum ProtocolError : byte
{
    None,
    ReservedBitsSet,
    UnknownOpCode,
    UnmaskedFrame,
    ControlFrameTooLong,
    ControlFrameFragmented,
    UnexpectedContinuation,
    ExpectedContinuation,
    InvalidLength,
    InvalidUtf8,
    InvalidCloseLength,
    InvalidCloseCode,
    InvalidCloseReason,
    MessageTooBig,
    /// <summary>A permessage-deflate message that is not valid deflate data : the payload is not what its frame says it is, so 1007 (RFC 6455 §7.4.1).</summary>
    InvalidCompressedData,
}
