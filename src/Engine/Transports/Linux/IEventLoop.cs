namespace Engine.Transports.Linux;

/// <summary>One thread that owns a listener and the connections it accepts (<see cref="Epoll.EpollLoop"/>, <see cref="IoUring.UringLoop"/>).</summary>
internal interface IEventLoop
{
    void Start();

    /// <summary>Stops accepting (connections keep running).</summary>
    void StopListening();

    /// <summary>Ends the loop thread; called after every connection has ended.</summary>
    void Stop();
}
