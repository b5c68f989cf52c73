namespace Engine.Protocol;

/// <summary>A slice of the request buffer, by offset, so parsing allocates no strings.</summary>
internal readonly record struct Slice(int Start, int Length)
{
    public ReadOnlySpan<byte> Of(ReadOnlySpan<byte> buffer) => buffer.Slice(Start, Length);
}
