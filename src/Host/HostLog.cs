using System.Net;
using Microsoft.Extensions.Logging;

namespace Host;

/// <summary>The Host's own log lines, source-generated (no formatting or allocation when a level is off).</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "listening on {Url} ({Mode} mode{Details}, pid {Pid}, metrics: {Metrics})")]
    public static partial void Listening(ILogger logger, string url, string mode, string details, int pid, string metrics);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "stopping: closing {Connections} connections with 1001")]
    public static partial void Stopping(ILogger logger, int connections);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "stopped (allocated {AllocatedBytes} bytes in total)")]
    public static partial void Stopped(ILogger logger, long allocatedBytes);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "stopped (echoed {Echoed} messages, allocated {AllocatedBytes} bytes in total)")]
    public static partial void StoppedEcho(ILogger logger, long echoed, long allocatedBytes);

    [LoggerMessage(EventId = 4, Level = LogLevel.Critical, Message = "cannot listen on {Address} port {Port}: {Error}")]
    public static partial void CannotListen(ILogger logger, IPAddress address, int port, string error);
}
