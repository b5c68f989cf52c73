using System.Text;

namespace Engine.Fuzz;

/// <summary>UTF-8 validity by the framework's strict decoder: an oracle independent of the engine's validator.</summary>
internal static class Utf8Strict
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsValid(ReadOnlySpan<byte> bytes)
    {
        try
        {
            Strict.GetCharCount(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
