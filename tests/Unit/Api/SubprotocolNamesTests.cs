using Engine.Runtime;

namespace Engine.Tests.Unit.Api;

/// <summary>The server's table of agreed subprotocols: a connection keeps a one-byte number that names its subprotocol for good.</summary>
public class SubprotocolNamesTests
{
    [Fact]
    public void A_name_gets_one_number_for_good_and_the_number_gives_the_name_back()
    {
        var names = new SubprotocolNames();

        byte chat = names.Number("chat.v1");
        byte json = names.Number("json");

        Assert.NotEqual(0, chat);
        Assert.NotEqual(chat, json);
        Assert.Equal(chat, names.Number("chat.v1"));
        Assert.Equal(chat, names.Number(new string("chat.v1".AsSpan()))); // by value, not by reference
        Assert.NotEqual(chat, names.Number("CHAT.V1")); // subprotocol tokens are case-sensitive (RFC 6455 §4.1)
        Assert.Equal("chat.v1", names[chat]);
        Assert.Equal("json", names[json]);
        Assert.Null(names[0]);
    }

    [Fact]
    public void Past_255_names_a_new_name_gets_no_number_and_the_numbered_ones_keep_theirs()
    {
        var names = new SubprotocolNames();
        var numbers = new HashSet<byte>();
        for (int i = 0; i < 255; i++)
        {
            numbers.Add(names.Number($"p{i}"));
        }

        Assert.Equal(255, numbers.Count);
        Assert.DoesNotContain((byte)0, numbers);
        Assert.Equal(0, names.Number("one-too-many"));
        Assert.Equal("p0", names[names.Number("p0")]);
        Assert.Equal("p254", names[names.Number("p254")]);
    }

    [Fact]
    public void Threads_numbering_the_same_names_at_once_agree()
    {
        var names = new SubprotocolNames();
        byte[][] seen = new byte[4][];

        Parallel.For(0, 4, t => seen[t] = Enumerable.Range(0, 100).Select(i => names.Number($"n{(i + t * 25) % 100}")).ToArray());

        for (int t = 0; t < 4; t++)
        {
            for (int i = 0; i < 100; i++)
            {
                Assert.Equal($"n{(i + t * 25) % 100}", names[seen[t][i]]);
            }
        }
    }
}
