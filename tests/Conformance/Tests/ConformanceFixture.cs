using System.Diagnostics;
using Conformance.Cases;
using Conformance.Peers;
using Conformance.Reporting;
using Conformance.Running;

namespace Conformance.Tests;

/// <summary>
/// Starts our engine's echo server and the Kestrel peer in-process, plays the whole catalogue against both once per
/// test run, and writes reports/conformance at the end. Tests only await their case's result, so cases run with
/// bounded parallelism here while xunit walks the theory rows one by one.
/// </summary>
/// <remarks>
/// Scheduling: one agent after the other, ours first. An agent's light cases run <see cref="CaseRunner.DefaultParallelism"/>
/// at a time; then its section 9 cases run strictly one at a time, so their durations are not skewed.
/// </remarks>
public sealed class ConformanceFixture : IAsyncLifetime
{
    private readonly Dictionary<string, TaskCompletionSource<CaseResult>> _underTest = Pending();

    // The engine behind ASP.NET Core (Engine.AspNetCore), graded by AspNetCoreCaseTests as strictly as the engine itself.
    private readonly Dictionary<string, TaskCompletionSource<CaseResult>> _aspNetCore = Pending();

    private readonly List<CaseResult> _all = new();
    private IPeerServer? _engine;
    private IPeerServer? _aspNetCoreEngine;
    private KestrelPeerServer? _kestrel;
    private Task? _schedule;
    private readonly Stopwatch _clock = new();
    private readonly List<string> _warmUps = new();

    /// <summary>
    /// Whether the engine behind ASP.NET Core also plays sections 12/13 (permessage-deflate). CI sets
    /// CONFORMANCE_ASPNET_COMPRESSION=0 to keep its run short: the deflate negotiation and codec are the engine's own
    /// code, graded on all of 12/13 in the engine's column, and the integration's full run is in docs/aspnetcore.md.
    /// </summary>
    public static bool AspNetCoreCompression => Environment.GetEnvironmentVariable("CONFORMANCE_ASPNET_COMPRESSION") != "0";

    /// <summary>The agent the tests grade: our engine once it is wired in (see <see cref="EngineUnderTest"/>), Kestrel before.</summary>
    public string AgentUnderTest { get; private set; } = EngineUnderTest.AgentName;

    public async Task InitializeAsync()
    {
        // The fuzzing client, Kestrel and the ASP.NET Core peer run on the thread pool, of which xunit's runner blocks two
        // threads: on 2 cores the first cases would wait for the pool's starvation check (RunnerThreadPool says more).
        Engine.Tests.Support.RunnerThreadPool.GiveBackBlockedThreads();
        _clock.Start();
        _kestrel = await KestrelPeerServer.StartAsync();
        if (EngineUnderTest.IsWired)
        {
            _engine = await EngineUnderTest.StartAsync();
#if CONFORMANCE_ENGINE
            _aspNetCoreEngine = await AspNetCorePeerServer.StartAsync();
#endif
        }
        AgentUnderTest = _engine?.Agent ?? _kestrel.Agent;
        _schedule = Task.Run(ScheduleAsync);
    }

    /// <summary>The graded result of <paramref name="id"/> for the agent under test.</summary>
    public Task<CaseResult> ResultAsync(string id) => _underTest[id].Task;

    /// <summary>The graded result of <paramref name="id"/> for the engine behind ASP.NET Core; fails when that agent is not wired in.</summary>
    public Task<CaseResult> AspNetCoreResultAsync(string id) => _aspNetCoreEngine is null
        ? Task.FromException<CaseResult>(new InvalidOperationException("The engine is not wired in: ConformanceEngine is false."))
        : _aspNetCore[id].Task;

    private static Dictionary<string, TaskCompletionSource<CaseResult>> Pending() =>
        Catalogue.All.ToDictionary(c => c.Id, _ => new TaskCompletionSource<CaseResult>(TaskCreationOptions.RunContinuationsAsynchronously));

    private async Task ScheduleAsync()
    {
        var light = Catalogue.All.Where(c => c.Load == CaseLoad.Light).ToList();
        var exclusive = Catalogue.All.Where(c => c.Load == CaseLoad.Exclusive).ToList();
        var busy = Catalogue.All.Where(c => c.Load == CaseLoad.Busy).ToList();
        try
        {
            // One agent at a time, so Autobahn's short deadlines (0.5 s in 6.x) are not squeezed by the other agent's load.
            foreach (var (peer, publish) in new[]
            {
                (_engine ?? _kestrel!, _underTest),
                (_aspNetCoreEngine, _aspNetCore),
                (_engine is null ? null : _kestrel, null),
            })
            {
                if (peer is null)
                {
                    continue;
                }
                // Ungraded: the first graded cases would otherwise pay for this process's cold start (CaseRunner.WarmUpAsync).
                var warmUp = await CaseRunner.WarmUpAsync(peer.Url, peer.Agent);
                lock (_warmUps)
                {
                    _warmUps.Add($"{peer.Agent} {warmUp}");
                }
                await RunLightAsync(peer, light, publish);
                if (publish is null && Environment.GetEnvironmentVariable("CONFORMANCE_KESTREL_COMPRESSION") == "0")
                {
                    busy = []; // CI may skip Kestrel's sections 12/13 (minutes of CPU that grade nobody); the report then lacks its column there
                }
                bool skipBusy = publish == _aspNetCore && !AspNetCoreCompression;
                await Parallel.ForEachAsync(skipBusy ? [] : busy, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, async (definition, _) =>
                {
                    Record(await CaseRunner.RunOneAsync(peer.Url, peer.Agent, definition), publish);
                });
                foreach (var definition in exclusive)
                {
                    Record(await CaseRunner.RunOneAsync(peer.Url, peer.Agent, definition), publish);
                }
            }
        }
        catch (Exception e)
        {
            foreach (var pending in _underTest.Values.Concat(_aspNetCore.Values))
            {
                pending.TrySetException(e);
            }
            throw;
        }
    }

    private Task RunLightAsync(IPeerServer peer, List<CaseDefinition> cases, Dictionary<string, TaskCompletionSource<CaseResult>>? publish) =>
        Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = CaseRunner.DefaultParallelism }, async (definition, _) =>
        {
            Record(await CaseRunner.RunOneAsync(peer.Url, peer.Agent, definition), publish);
        });

    private void Record(CaseResult result, Dictionary<string, TaskCompletionSource<CaseResult>>? publish)
    {
        lock (_all)
        {
            _all.Add(result);
        }
        publish?[result.Id].TrySetResult(result);
    }

#if DEBUG
    private const string BuildConfiguration = "Debug";
#else
    private const string BuildConfiguration = "Release";
#endif

    public async Task DisposeAsync()
    {
        try
        {
            if (_schedule is not null)
            {
                // Kestrel's column finishes after the last test of ours; the report needs both.
                await _schedule;
            }
        }
        finally
        {
            List<CaseResult> results;
            lock (_all)
            {
                results = _all.ToList();
            }
            if (results.Count > 0)
            {
                var note = $"xunit run: {results.Count} case runs over {results.Select(r => r.Agent).Distinct().Count()} agents in {_clock.Elapsed.TotalSeconds:F0} s; the tests grade {AgentUnderTest}. " +
                    $"The servers ran in-process in a {BuildConfiguration} build on {Environment.ProcessorCount} cores, so section 9 durations compare the agents, not absolute speed. " +
                    $"Ungraded warm-up before each agent (8 plain echoes at once until a round takes under {CaseRunner.SettledRound.TotalMilliseconds:F0} ms): {string.Join("; ", _warmUps)}.";
                ReportWriter.Write(results, runNote: note);
            }
            if (_engine is not null)
            {
                await _engine.DisposeAsync();
            }
            if (_aspNetCoreEngine is not null)
            {
                await _aspNetCoreEngine.DisposeAsync();
            }
            if (_kestrel is not null)
            {
                await _kestrel.DisposeAsync();
            }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ConformanceCollection : ICollectionFixture<ConformanceFixture>
{
    public const string Name = "Conformance";
}
