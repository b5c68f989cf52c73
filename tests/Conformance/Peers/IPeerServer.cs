namespace Conformance.Peers;

/// <summary>An echo server the catalogue is played against, started in-process on a free loopback port.</summary>
public interface IPeerServer : IAsyncDisposable
{
    /// <summary>The agent name in reports.</summary>
    string Agent { get; }

    Uri Url { get; }
}
