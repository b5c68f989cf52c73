using System.Text.Json;
using Engine.Tests.Support;

namespace Engine.Tests.HostApp;

/// <summary>
/// The Host's thread-pool workers sleep when they run out of work instead of spinning first: in the sockets storm the
/// spinning took 12% of the server's one core (docs/resilience.md). The setting lives in the Host's runtime
/// configuration, which the runtime reads before any code runs, so this checks the file the Host processes start with.
/// </summary>
public sealed class ThreadPoolSpinTests
{
    [Fact]
    public void The_Host_turns_thread_pool_spinning_off_in_its_runtime_configuration()
    {
        string path = Path.Combine(Path.GetDirectoryName(HostProcess.HostDll)!, "Host.runtimeconfig.json");
        using JsonDocument config = JsonDocument.Parse(File.ReadAllText(path));
        JsonElement properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.Equal(0, properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
    }
}
