using System.Globalization;
using System.Net;
using Engine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Host;

/// <summary>
/// How much of each channel's history the broker keeps: the last <paramref name="MaxMessages"/> (0: no count limit),
/// for <paramref name="TimeToLive"/> (zero: no age limit).
/// </summary>
public sealed record HistorySettings(int MaxMessages, TimeSpan TimeToLive);
