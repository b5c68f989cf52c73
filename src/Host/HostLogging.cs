using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Host;

/// <summary>The Host's console logging (Microsoft.Extensions.Logging.Console) in the chosen <see cref="HostLogFormat"/>.</summary>
public static class HostLogging
{
    /// <summary>A logger factory writing to standard output at <paramref name="level"/> and above.</summary>
    public static ILoggerFactory CreateFactory(HostLogFormat format, LogLevel level) => LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(level);
        switch (format)
        {
            case HostLogFormat.Json:
                logging.AddJsonConsole(options =>
                {
                    options.UseUtcTimestamp = true;
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    options.IncludeScopes = false;
                });
                break;
            case HostLogFormat.Systemd:
                // journald stamps each line itself and reads the <N> priority prefix.
                logging.AddSystemdConsole(options => options.IncludeScopes = false);
                break;
            default:
                logging.AddSimpleConsole(options =>
                {
                    options.SingleLine = true;
                    options.UseUtcTimestamp = true;
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    options.IncludeScopes = false;
                });
                break;
        }
    });
}
