using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Host;

/// <summary>The Host's console logging (Microsoft.Extensions.Logging.Console) in the chosen <see cref="HostLogFormat"/>.</summary>
public static class HostLogging
{
    /// <summary>
    /// Makes <paramref name="logging"/> (a Generic Host's <c>builder.Logging</c>) write to standard output only, at
    /// <paramref name="level"/> and above, in <paramref name="format"/>: any provider added before is removed.
    /// </summary>
    public static ILoggingBuilder AddHostConsole(this ILoggingBuilder logging, HostLogFormat format, LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(logging);
        logging.ClearProviders();
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
        return logging;
    }
}
