using System.Runtime.CompilerServices;

namespace Engine.Protocol;

[InlineArray(HttpRequestHead.MaxHeaders)]
internal struct HeaderFields
{
    private HeaderField _first;
}
