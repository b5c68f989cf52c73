namespace Engine;

/// <summary>The kind of a data message.</summary>
public enum MessageType : byte
{
    /// <summary>A text message: the payload is valid UTF-8 (the engine has checked it).</summary>
    Text = 1,
    /// <summary>A binary message.</summary>
    Binary = 2,
}
