using Engine.Tests.Support;
using Engine.Transports;

namespace Engine.Tests.Unit.Transports;

/// <summary>The accept loops' descriptor budget: a spent budget parks the loop, and the next returned descriptor resumes it.</summary>
public class DescriptorBudgetTests
{
    [Fact]
    public void A_spent_budget_resumes_a_waiting_loop_once_when_a_descriptor_comes_back()
    {
        var budget = new DescriptorBudget(2);
        Assert.True(budget.TryTake());
        Assert.True(budget.TryTake());
        Assert.False(budget.TryTake());
        Assert.Equal(2, budget.Open);

        int resumed = 0;
        budget.WhenAvailable(() => resumed++);
        Assert.Equal(0, resumed);
        Assert.Equal(1, budget.Pauses);

        budget.Return();
        Assert.Equal(1, resumed);
        budget.Return();
        Assert.Equal(1, resumed); // one-shot: a loop that wants more asks again after its next failed take
        Assert.Equal(0, budget.Open);
    }

    [Fact]
    public void A_descriptor_returned_between_the_failed_take_and_the_wait_is_not_missed()
    {
        var budget = new DescriptorBudget(1);
        Assert.True(budget.TryTake());
        Assert.False(budget.TryTake());
        budget.Return(); // no one waits yet
        int resumed = 0;
        budget.WhenAvailable(() => resumed++);
        Assert.Equal(1, resumed);
    }

    [Fact]
    public async Task WaitAsync_completes_when_a_descriptor_comes_back_and_reports_a_cancel()
    {
        var budget = new DescriptorBudget(1);
        Assert.True(budget.TryTake());
        Task<bool> waiting = budget.WaitAsync(CancellationToken.None);
        Assert.False(waiting.IsCompleted);
        budget.Return();
        Assert.True(await waiting.WaitAsync(TestTimeouts.Hang));

        Assert.True(budget.TryTake());
        using var stop = new CancellationTokenSource();
        Task<bool> stopped = budget.WaitAsync(stop.Token);
        stop.Cancel();
        Assert.False(await stopped.WaitAsync(TestTimeouts.Hang));
    }
}
