using Conformance.Cases;

namespace Conformance.Tests;

/// <summary>
/// One test per Autobahn case against our engine's echo server. A case fails unless Autobahn would grade it OK
/// (or INFORMATIONAL where the case only informs) with its close also OK; the message says what the server did.
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class CaseTests(ConformanceFixture fixture)
{
    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var definition in Catalogue.All)
        {
            data.Add(definition.Id);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public async Task Case(string id)
    {
        var result = await fixture.ResultAsync(id);
        Assert.Equal(fixture.AgentUnderTest, result.Agent);
        Assert.True(result.Passed, result.Explain());
    }
}

/// <summary>
/// One test per Autobahn case against the engine behind ASP.NET Core (Engine.AspNetCore: Kestrel parses the upgrade and
/// hands the stream over), graded as strictly as <see cref="CaseTests"/>.
/// </summary>
[Collection(ConformanceCollection.Name)]
public sealed class AspNetCoreCaseTests(ConformanceFixture fixture)
{
    /// <summary>Every case, less sections 12/13 when CI leaves them out (<see cref="ConformanceFixture.AspNetCoreCompression"/>).</summary>
    public static TheoryData<string> AspNetCoreCaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var definition in Catalogue.All)
        {
            if (ConformanceFixture.AspNetCoreCompression || definition.Load != CaseLoad.Busy)
            {
                data.Add(definition.Id);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AspNetCoreCaseIds))]
    public async Task Case(string id)
    {
        var result = await fixture.AspNetCoreResultAsync(id);
        Assert.Equal(Peers.EngineUnderTest.AspNetCoreAgentName, result.Agent);
        Assert.True(result.Passed, result.Explain());
    }
}

/// <summary>Guards the catalogue itself: the case counts of the real suite's sections 1-7, 9, 10, 12 and 13.</summary>
public sealed class CatalogueTests
{
    [Theory]
    [InlineData("1", 16)]
    [InlineData("2", 11)]
    [InlineData("3", 7)]
    [InlineData("4", 10)]
    [InlineData("5", 20)]
    [InlineData("6", 145)]
    [InlineData("7", 37)]
    [InlineData("9", 54)]
    [InlineData("10", 1)]
    [InlineData("12", 90)]
    [InlineData("13", 126)]
    public void Section_has_the_real_suites_case_count(string section, int count) =>
        Assert.Equal(count, Catalogue.All.Count(c => c.Id.Split('.')[0] == section));
}
