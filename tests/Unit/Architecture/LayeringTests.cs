using System.Reflection;
using System.Reflection.Emit;

namespace Engine.Tests.Unit.Architecture;

/// <summary>
/// The Engine assembly's folders form layers, each depending only on those below it (docs: STYLE.md "Layers"):
/// Buffers ← Protocol ← Compression ← Timers ← Session ← Transports ← Runtime ← the API (the root <c>Engine</c>
/// namespace and <c>Engine.History</c>). Engine.Hosting and the Host are other assemblies above all of these; the
/// compiler already keeps Engine from using them (it has no reference to them).
/// <para>
/// The scan is over the compiled assembly, so it sees what the source says however it is spelled (usings, qualified
/// names, <c>var</c>): base types, interfaces, fields, properties, events, method signatures, and every type, method
/// and field a method body names (its IL), compiler-made closures and state machines included. XML doc references
/// are not compiled and not seen.
/// </para>
/// <para>
/// The root namespace holds the public API, and also the public vocabulary that every layer speaks (CloseCode,
/// MessageType, HttpResponse, UpgradeDecision, SendStatus, ...). The rule: a root type is vocabulary, usable from the
/// Protocol layer up, when it depends on nothing in Engine above Protocol (only Buffers, Protocol and other
/// vocabulary); every other root type is API, the top layer. So a vocabulary type that starts to use, say, a
/// Session type becomes API, and the lower layers that use it fail here.
/// </para>
/// </summary>
public sealed class LayeringTests
{
    /// <summary>The layers, bottom first; a namespace belongs to the last entry it equals or starts with (then a dot).</summary>
    private static readonly string[] Layers =
    [
        "Engine.Buffers",
        "Engine.Protocol",
        "Engine.Compression",
        "Engine.Timers",
        "Engine.Session",
        "Engine.Transports",
        "Engine.Runtime",
        "Engine.History",
    ];

    private const int VocabularyLayer = 1; // with Protocol
    private const int ApiLayer = 7; // with History

    private static readonly Assembly EngineAssembly = typeof(WebSocketServer).Assembly;

    [Fact]
    public void No_layer_uses_a_layer_above_it()
    {
        Dictionary<Type, HashSet<Type>> dependencies = Dependencies();
        HashSet<Type> vocabulary = Vocabulary(dependencies);
        var violations = new SortedSet<string>(StringComparer.Ordinal);
        foreach ((Type user, HashSet<Type> used) in dependencies)
        {
            int userLayer = LayerOf(user, vocabulary);
            foreach (Type dependency in used)
            {
                int dependencyLayer = LayerOf(dependency, vocabulary);
                if (dependencyLayer > userLayer)
                {
                    violations.Add($"{user.FullName} -> {dependency.FullName}");
                }
            }
        }
        string[] unexpected = [.. violations];
        Assert.True(unexpected.Length == 0,
            "A lower layer uses a higher one (layers bottom first: " + string.Join(" <- ", Layers.Take(ApiLayer)) +
            " <- API; a root type that uses anything above Protocol is API):\n" +
            string.Join("\n", unexpected.Select(v => "  " + Describe(v, vocabulary))));
    }

    [Fact]
    public void The_scan_sees_signatures_and_method_bodies()
    {
        Dictionary<Type, HashSet<Type>> dependencies = Dependencies();
        // A base type, a field type and a call made only inside a method body.
        Assert.Contains(typeof(Engine.Timers.TimerEntry), dependencies[typeof(Engine.Session.WebSocketSession)]);
        Assert.Contains(typeof(Engine.Timers.TimerWheel), dependencies[typeof(Engine.Session.WebSocketSession)]);
        Assert.Contains(typeof(Engine.Protocol.CloseFrames), dependencies[typeof(Engine.Session.WebSocketSession)]);
        // A type named only inside a lambda (a compiler-made closure class) counts for the type that wrote it.
        Assert.Contains(typeof(Engine.Runtime.ServerLog), dependencies[typeof(WebSocketServer)]);
    }

    [Fact]
    public void Vocabulary_is_what_uses_nothing_above_Protocol()
    {
        HashSet<Type> vocabulary = Vocabulary(Dependencies());
        Assert.Contains(typeof(CloseCode), vocabulary);
        Assert.Contains(typeof(MessageType), vocabulary);
        Assert.Contains(typeof(HttpResponse), vocabulary);
        Assert.DoesNotContain(typeof(WebSocketServer), vocabulary);
        Assert.DoesNotContain(typeof(WebSocketConnection), vocabulary);
    }

    private static string Describe(string violation, HashSet<Type> vocabulary)
    {
        string[] parts = violation.Split(" -> ");
        Type user = EngineAssembly.GetType(parts[0])!;
        Type used = EngineAssembly.GetType(parts[1])!;
        return $"{violation}   ({LayerName(LayerOf(user, vocabulary))} uses {LayerName(LayerOf(used, vocabulary))})";
    }

    private static string LayerName(int layer) => layer == ApiLayer ? "API" : Layers[layer];

    private static int LayerOf(Type type, HashSet<Type> vocabulary)
    {
        string ns = type.Namespace!;
        if (ns == "Engine")
        {
            return vocabulary.Contains(type) ? VocabularyLayer : ApiLayer;
        }
        for (int i = Layers.Length - 1; i >= 0; i--)
        {
            if (ns == Layers[i] || ns.StartsWith(Layers[i] + ".", StringComparison.Ordinal))
            {
                return i;
            }
        }
        throw new InvalidOperationException($"{type.FullName}: namespace {ns} is in no layer; add it to Layers");
    }

    /// <summary>Root types that use nothing above Protocol, directly or through another root type (a fixed point).</summary>
    private static HashSet<Type> Vocabulary(Dictionary<Type, HashSet<Type>> dependencies)
    {
        var vocabulary = dependencies.Keys.Where(t => t.Namespace == "Engine").ToHashSet();
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (Type type in vocabulary.ToArray())
            {
                if (dependencies[type].Any(d => LayerOf(d, vocabulary) > VocabularyLayer))
                {
                    vocabulary.Remove(type);
                    changed = true;
                }
            }
        }
        return vocabulary;
    }

    /// <summary>Every top-level Engine type and the other Engine types it (or any type nested in it) uses.</summary>
    private static Dictionary<Type, HashSet<Type>> Dependencies()
    {
        var result = new Dictionary<Type, HashSet<Type>>();
        foreach (Type type in EngineAssembly.GetTypes())
        {
            Type owner = Outermost(type);
            if (!IsEngineType(owner))
            {
                continue; // compiler-made attributes and <PrivateImplementationDetails>
            }
            if (!result.TryGetValue(owner, out HashSet<Type>? used))
            {
                result[owner] = used = [];
            }
            var found = new HashSet<Type>();
            Collect(type, found);
            foreach (Type dependency in found)
            {
                Type target = Outermost(dependency);
                if (target != owner && IsEngineType(target))
                {
                    used.Add(target);
                }
            }
        }
        return result;
    }

    private static bool IsEngineType(Type type) =>
        type.Assembly == EngineAssembly && type.Namespace is { } ns && (ns == "Engine" || ns.StartsWith("Engine.", StringComparison.Ordinal));

    private static Type Outermost(Type type)
    {
        while (type.DeclaringType is not null && !type.IsGenericParameter)
        {
            type = type.DeclaringType;
        }
        return type;
    }

    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
        BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static void Collect(Type type, HashSet<Type> found)
    {
        Add(type.BaseType, found);
        foreach (Type implemented in type.GetInterfaces())
        {
            Add(implemented, found);
        }
        foreach (FieldInfo field in type.GetFields(All))
        {
            Add(field.FieldType, found);
        }
        foreach (PropertyInfo property in type.GetProperties(All))
        {
            Add(property.PropertyType, found);
        }
        foreach (EventInfo @event in type.GetEvents(All))
        {
            Add(@event.EventHandlerType, found);
        }
        foreach (MethodBase method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            if (method is MethodInfo info)
            {
                Add(info.ReturnType, found);
            }
            foreach (ParameterInfo parameter in method.GetParameters())
            {
                Add(parameter.ParameterType, found);
            }
            foreach (LocalVariableInfo local in method.GetMethodBody()?.LocalVariables ?? [])
            {
                Add(local.LocalType, found);
            }
            CollectBody(method, found);
        }
    }

    /// <summary>Adds a type with everything it is made of: element types and generic arguments.</summary>
    private static void Add(Type? type, HashSet<Type> found)
    {
        if (type is null || type.IsGenericParameter)
        {
            return;
        }
        if (type.HasElementType)
        {
            Add(type.GetElementType(), found);
            return;
        }
        if (type.IsConstructedGenericType)
        {
            foreach (Type argument in type.GetGenericArguments())
            {
                Add(argument, found);
            }
            type = type.GetGenericTypeDefinition();
        }
        found.Add(type);
    }

    /// <summary>The types, methods and fields a method body names (the IL's metadata tokens).</summary>
    private static void CollectBody(MethodBase method, HashSet<Type> found)
    {
        byte[]? il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return;
        }
        Type[]? typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        Type[]? methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        int position = 0;
        while (position < il.Length)
        {
            OpCode opCode = il[position] == 0xFE ? TwoByte[il[position + 1]] : OneByte[il[position]];
            position += opCode.Size;
            switch (opCode.OperandType)
            {
                case OperandType.InlineMethod:
                case OperandType.InlineField:
                case OperandType.InlineType:
                case OperandType.InlineTok:
                    int token = BitConverter.ToInt32(il, position);
                    switch (method.Module.ResolveMember(token, typeArguments, methodArguments))
                    {
                        case Type named:
                            Add(named, found);
                            break;
                        case MethodBase called:
                            Add(called.DeclaringType, found);
                            if (called.IsGenericMethod)
                            {
                                foreach (Type argument in called.GetGenericArguments())
                                {
                                    Add(argument, found);
                                }
                            }
                            break;
                        case FieldInfo field:
                            Add(field.DeclaringType, found);
                            Add(field.FieldType, found);
                            break;
                    }
                    position += 4;
                    break;
                case OperandType.InlineSwitch:
                    position += 4 + (4 * BitConverter.ToInt32(il, position));
                    break;
                default:
                    position += OperandSize(opCode.OperandType);
                    break;
            }
        }
    }

    private static int OperandSize(OperandType operand) => operand switch
    {
        OperandType.InlineNone => 0,
        OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
        OperandType.InlineVar => 2,
        OperandType.InlineI8 or OperandType.InlineR => 8,
        _ => 4,
    };

    private static readonly OpCode[] OneByte = new OpCode[256];
    private static readonly OpCode[] TwoByte = new OpCode[256];

#pragma warning disable CA1810 // the opcode tables are filled from OpCodes' fields, which an initializer expression cannot do
    static LayeringTests()
#pragma warning restore CA1810
    {
        foreach (FieldInfo field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var opCode = (OpCode)field.GetValue(null)!;
            if (opCode.Size == 1)
            {
                OneByte[opCode.Value & 0xFF] = opCode;
            }
            else
            {
                TwoByte[opCode.Value & 0xFF] = opCode;
            }
        }
    }
}
