namespace Host;

/// <summary>How the Host writes its console log lines (<c>WS_LOG_FORMAT</c>).</summary>
public enum HostLogFormat
{
    /// <summary>One human-readable line per entry, UTC timestamp first.</summary>
    Plain,

    /// <summary>One JSON object per line (timestamp, level, category, message, state), for log shippers.</summary>
    Json,

    /// <summary>Plain lines with journald's <c>&lt;N&gt;</c> priority prefixes and no timestamp (journald adds its own).</summary>
    Systemd,
}
