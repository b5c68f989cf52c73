using System.Globalization;

namespace Soak;

/// <summary>Command line: <c>--duration 60s|10m</c>, <c>--sample 2s</c>, <c>--out DIR</c>, <c>--host PATH/Host.dll</c>.</summary>
internal sealed record Options
{
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan SampleEvery { get; init; } = TimeSpan.FromSeconds(2);
    public string OutDirectory { get; init; } = "bench/results";
    public string? HostDll { get; init; }
    public int Subscribers { get; init; } = 50;
    public int Publishers { get; init; } = 5;
    public int PublishesPerSecond { get; init; } = 20;
    public int Echoers { get; init; } = 20;
    public int EchoesPerSecond { get; init; } = 100;
    public int ChurnWorkers { get; init; } = 4;

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new FormatException($"{args[i]} needs a value");
            options = args[i] switch
            {
                "--duration" => options with { Duration = ParseTime(value) },
                "--sample" => options with { SampleEvery = ParseTime(value) },
                "--out" => options with { OutDirectory = value },
                "--host" => options with { HostDll = value },
                "--subscribers" => options with { Subscribers = int.Parse(value, CultureInfo.InvariantCulture) },
                "--echoers" => options with { Echoers = int.Parse(value, CultureInfo.InvariantCulture) },
                "--churn-workers" => options with { ChurnWorkers = int.Parse(value, CultureInfo.InvariantCulture) },
                _ => throw new FormatException($"unknown option {args[i]} (--duration, --sample, --out, --host, --subscribers, --echoers, --churn-workers)"),
            };
            i++;
        }
        return options;
    }

    /// <summary>"90s", "10m", "1h" or plain seconds.</summary>
    public static TimeSpan ParseTime(string text)
    {
        char unit = text[^1];
        string number = char.IsAsciiLetter(unit) ? text[..^1] : text;
        double n = double.Parse(number, CultureInfo.InvariantCulture);
        return unit switch
        {
            'h' => TimeSpan.FromHours(n),
            'm' => TimeSpan.FromMinutes(n),
            _ => TimeSpan.FromSeconds(n),
        };
    }
}
