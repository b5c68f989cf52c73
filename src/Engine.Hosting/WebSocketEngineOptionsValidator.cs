using Microsoft.Extensions.Options;

namespace Engine.Hosting;

/// <summary>Runs the engine's own <see cref="WebSocketServerOptions.Validate"/>, so the host fails at start with its message.</summary>
internal sealed class WebSocketEngineOptionsValidator : IValidateOptions<WebSocketEngineOptions>
{
    public ValidateOptionsResult Validate(string? name, WebSocketEngineOptions options)
    {
        if (options.Server is null)
        {
            return ValidateOptionsResult.Fail("WebSocketEngineOptions.Server must be set.");
        }
        try
        {
            options.Server.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException exception)
        {
            return ValidateOptionsResult.Fail($"WebSocketEngineOptions.Server: {exception.Message}");
        }
    }
}
