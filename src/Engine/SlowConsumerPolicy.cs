namespace Engine;

/// <summary>What the engine does when a send would take a connection's queue over <see cref="WebSocketServerOptions.MaxBufferedBytes"/>.</summary>
public enum SlowConsumerPolicy : byte
{
    /// <summary>Refuse that message (<see cref="SendStatus.Backpressure"/>); the connection stays open.</summary>
    FailSend,
    /// <summary>Refuse the message and close the connection with 1008 Policy Violation.</summary>
    ClosePolicyViolation,
    /// <summary>Refuse the message and close the connection with 1013 Try Again Later.</summary>
    CloseTryAgainLater,
}
