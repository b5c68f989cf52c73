using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Host;

namespace Engine.Tests.HostApp;

/// <summary>JWT authentication: success, every failure closing 4001, the timeout sweep, the URL token switch.</summary>
[Collection(HostAppCollection.Name)]
public sealed class AuthTests
{
    [Fact]
    public async Task A_valid_token_authenticates_and_the_user_becomes_from()
    {
        await using var server = await AppServer.StartAsync(AppServer.WithAuth(new AppOptions { AuthAudience = "chat" }));
        using AppClient alice = await server.ConnectAsync();
        using AppClient bob = await server.ConnectAsync();
        Assert.Equal(2, server.Handler.PendingAuthentications);
        await alice.SendTextAsync($$"""{"type":"auth","token":"{{AppServer.Token("alice", audience: "chat")}}"}""");
        Assert.Equal("""{"type":"authenticated","user":"alice"}""", await alice.ReceiveTextAsync());
        // No sub: the name claim is the user.
        await bob.SendTextAsync($$"""{"type":"auth","token":"{{AppServer.Token(subject: null, name: "Bob B.", audience: "chat")}}"}""");
        Assert.Equal("""{"type":"authenticated","user":"Bob B."}""", await bob.ReceiveTextAsync());
        Assert.Equal(0, server.Handler.PendingAuthentications);

        await bob.SendTextAsync("""{"type":"subscribe","channel":"team"}""");
        await bob.ExpectAsync("subscribed");
        await alice.SendTextAsync("""{"type":"message","channel":"team","content":"hi","from":"bob"}""");
        Assert.Equal("""{"type":"message","channel":"team","content":"hi","from":"alice"}""", await bob.ReceiveTextAsync());

        await alice.SendTextAsync($$"""{"type":"auth","token":"{{AppServer.Token("alice", audience: "chat")}}"}""");
        await alice.ExpectErrorAsync("already authenticated");
        await alice.ExpectNothingPendingAsync();
    }

    public static TheoryData<string, string> Failures => new()
    {
        { "subscribe first", """{"type":"subscribe","channel":"team"}""" },
        { "ping first", """{"type":"ping"}""" },
        { "invalid JSON first", "{nope" },
        { "bad signature", $$"""{"type":"auth","token":"{{AppServer.Token(secret: "another-secret-that-is-also-32-bytes-long")}}"}""" },
        { "expired", $$"""{"type":"auth","token":"{{AppServer.Token(expiresIn: TimeSpan.FromHours(-1))}}"}""" },
        { "wrong audience", $$"""{"type":"auth","token":"{{AppServer.Token(audience: "other")}}"}""" },
        { "no user", $$"""{"type":"auth","token":"{{AppServer.Token(subject: null)}}"}""" },
        { "garbage token", """{"type":"auth","token":"not.a.jwt"}""" },
        { "unsigned token", """{"type":"auth","token":"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImV4cCI6OTk5OTk5OTk5OX0."}""" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Anything_but_a_valid_auth_first_closes_4001_and_is_not_processed(string why, string first)
    {
        await using var server = await AppServer.StartAsync(AppServer.WithAuth(new AppOptions { AuthAudience = "chat" }));
        using AppClient client = await server.ConnectAsync();
        await client.SendTextAsync(first);
        // A second message right behind it must not be processed either.
        await client.SendTextAsync("""{"type":"subscribe","channel":"team"}""");
        await client.ExpectCloseAsync(4001);
        Assert.Equal("Unauthorized", client.Socket.CloseStatusDescription);
        Assert.True(server.Server.PubSub.ChannelCount == 0, why);
    }

    [Fact]
    public async Task A_binary_first_message_closes_4001()
    {
        await using var server = await AppServer.StartAsync(AppServer.WithAuth());
        using AppClient client = await server.ConnectAsync();
        await client.SendAsync([0x01, 1, (byte)'a', 1], WebSocketMessageType.Binary);
        await client.ExpectCloseAsync(4001);
    }

    [Fact]
    public async Task Silence_past_the_auth_timeout_closes_4001_from_the_sweep()
    {
        // The prompt client must authenticate within the timeout too: 1 s (was 300 ms, which a loaded box's connect, send
        // and dispatch could exceed, sweeping the prompt client as well) is several times that path's worst under load.
        var authTimeout = TimeSpan.FromSeconds(1);
        var options = AppServer.WithAuth(new AppOptions { AuthTimeout = authTimeout, AuthSweepInterval = TimeSpan.FromMilliseconds(50) });
        await using var server = await AppServer.StartAsync(options);
        using AppClient silent = await server.ConnectAsync();
        using AppClient prompt = await server.ConnectAsync();
        DateTime promptOpen = DateTime.UtcNow; // after the server opened it, so after its auth deadline started
        await prompt.SendTextAsync($$"""{"type":"auth","token":"{{AppServer.Token()}}"}""");
        await prompt.ExpectAsync("authenticated");
        var started = DateTime.UtcNow;
        await silent.ExpectCloseAsync(4001, TestTimeouts.Hang);
        // A claim: the sweep closes a silent client soon after its deadline (at most 1 s + one 50 ms sweep after it
        // opened, which is before `started`). The 2 s left over covers a late sweep and close frame on a loaded box.
        Assert.InRange((DateTime.UtcNow - started).TotalMilliseconds, 0, 3000);
        Assert.Equal(0, server.Handler.PendingAuthentications);
        // Past the prompt client's own deadline and a few sweeps (a wait on the clock, since it watches for something
        // that must not happen: load can only make it see fewer sweeps, never fail it).
        TimeSpan untilPast = promptOpen + authTimeout + TimeSpan.FromMilliseconds(200) - DateTime.UtcNow;
        if (untilPast > TimeSpan.Zero)
        {
            await Task.Delay(untilPast);
        }
        await prompt.ExpectNothingPendingAsync(); // authenticated connections are not swept
    }

    [Fact]
    public async Task A_url_token_authenticates_only_when_enabled()
    {
        string query = "?token=" + Uri.EscapeDataString(AppServer.Token("carol"));
        await using (var enabled = await AppServer.StartAsync(AppServer.WithAuth(new AppOptions { AllowQueryToken = true })))
        {
            using AppClient client = await enabled.ConnectAsync(query);
            Assert.Equal("""{"type":"authenticated","user":"carol"}""", await client.ReceiveTextAsync());
            await client.ExpectNothingPendingAsync();

            using var rejected = new ClientWebSocket();
            rejected.Options.CollectHttpResponseDetails = true;
            await Assert.ThrowsAsync<WebSocketException>(() => rejected.ConnectAsync(new Uri(enabled.Uri, "?token=forged"), CancellationToken.None));
            Assert.Equal(HttpStatusCode.Unauthorized, rejected.HttpStatusCode);
        }
        await using (var disabled = await AppServer.StartAsync(AppServer.WithAuth()))
        {
            using AppClient client = await disabled.ConnectAsync(query);
            await client.SendTextAsync("""{"type":"ping"}""");
            await client.ExpectCloseAsync(4001);
        }
    }
}
