using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Engine.AspNetCore;

/// <summary>Maps WebSocket endpoints served by the engine (<c>AddEngineWebSockets</c> registers it).</summary>
public static class EngineWebSocketsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <paramref name="pattern"/> to the engine: a WebSocket request there (an HTTP/1.1 upgrade, or an HTTP/2
    /// extended CONNECT with <c>:protocol websocket</c>, RFC 8441) is decided by the engine (RFC 6455 checks, limits, the
    /// handler's <see cref="IWebSocketHandler.OnUpgrade"/>, subprotocol and permessage-deflate) and, once accepted, served
    /// by it on the stream Kestrel hands over. The application's middleware runs first, so chain the usual conventions:
    /// <c>.RequireAuthorization()</c>, <c>.RequireCors(...)</c>, <c>.RequireRateLimiting(...)</c>; a request they refuse
    /// never reaches the engine. The handler reaches the request's <c>HttpContext</c> (user, route values) in
    /// <see cref="IWebSocketHandler.OnUpgrade"/> with <see cref="RequestHeadExtensions.GetHttpContext"/>. Any other
    /// request gets 426.
    /// </summary>
    public static IEndpointConventionBuilder MapEngineWebSockets(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        // Any method: GET for HTTP/1.1 upgrades, CONNECT for HTTP/2; the engine answers the rest.
        return endpoints.Map(pattern, EngineWebSocketsEndpoint.HandleAsync).WithDisplayName("Engine WebSockets " + pattern);
    }
}
