using System.Net.Sockets;
using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Transports;

/// <summary>The Linux loops report a failed read or write as .NET's own sockets would (they once said error 104).</summary>
public class SocketErrorMappingTests
{
    [Theory]
    [InlineData(104, SocketError.ConnectionReset)]
    [InlineData(32, SocketError.Shutdown)]
    [InlineData(110, SocketError.TimedOut)]
    [InlineData(103, SocketError.ConnectionAborted)]
    [InlineData(111, SocketError.ConnectionRefused)]
    [InlineData(113, SocketError.HostUnreachable)]
    [InlineData(101, SocketError.NetworkUnreachable)]
    [InlineData(5, SocketError.SocketError)]
    public void An_errno_becomes_the_SocketError_dotnet_reports(int errno, SocketError expected)
    {
        SocketException exception = Native.ToSocketException(errno);
        Assert.Equal(expected, exception.SocketErrorCode);
        if (expected == SocketError.SocketError)
        {
            Assert.Contains($"errno {errno}", exception.Message);
        }
    }
}
