namespace Engine.Client;

/// <summary>An error of the <see cref="EngineClient"/>: thrown by sends, and raised through <see cref="EngineClient.Error"/>.</summary>
public sealed class EngineClientException(EngineClientErrorKind kind, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>What went wrong.</summary>
    public EngineClientErrorKind Kind { get; } = kind;
}
