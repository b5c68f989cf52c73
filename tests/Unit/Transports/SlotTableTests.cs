using Engine.Transports.Linux;

namespace Engine.Tests.Unit.Transports;

/// <summary>A loop's table of connections by slot: slots are reused once released, and a full table says so instead of overflowing.</summary>
public class SlotTableTests
{
    [Fact]
    public void A_full_table_gives_no_slot_until_one_is_released()
    {
        var table = new SlotTable<object>(maxSlots: 3);
        var items = new object[3];
        for (int i = 0; i < 3; i++)
        {
            int slot = table.Reserve();
            Assert.Equal(i, slot);
            table.Set(slot, items[i] = new object());
        }

        Assert.Equal(-1, table.Reserve());

        table.Release(1);
        Assert.Null(table[1]);
        Assert.Equal(1, table.Reserve());
        Assert.Same(items[2], table[2]);
        Assert.Equal(-1, table.Reserve());
    }

    [Fact]
    public void The_table_grows_past_its_first_array_and_never_past_the_slots_a_mail_word_holds()
    {
        var table = new SlotTable<object>();
        var item = new object();
        for (int i = 0; i < 5000; i++)
        {
            table.Set(table.Reserve(), item);
        }

        Assert.Same(item, table[4999]);
        Assert.Null(table[5000]);
        Assert.Equal(1 << 24, SlotTable<object>.MaxSlots); // LinuxConnection keeps the slot above 8 flag bits of an int
    }
}
