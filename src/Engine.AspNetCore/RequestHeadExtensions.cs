using Microsoft.AspNetCore.Http;

namespace Engine.AspNetCore;

/// <summary>What an <see cref="IWebSocketHandler"/> reads of the ASP.NET Core request behind a hand-off.</summary>
public static class RequestHeadExtensions
{
    /// <summary>
    /// The request's <see cref="HttpContext"/> when <c>MapEngineWebSockets</c> handed it over (its <c>User</c> after
    /// authentication, <c>GetRouteValue</c>, <c>Request.Query</c>), else null. Read it during
    /// <see cref="IWebSocketHandler.OnUpgrade"/> and keep what the connection needs in the decision's state
    /// (<see cref="UpgradeDecision.Accept"/>): ASP.NET Core reuses the context once the connection is over, and it is not
    /// thread-safe.
    /// </summary>
    public static HttpContext? GetHttpContext(this RequestHead request) => request.Context as HttpContext;
}
