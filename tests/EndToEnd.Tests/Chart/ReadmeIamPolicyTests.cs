using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Text.Json.Nodes;
using Notary.Aws;

namespace Notary.EndToEnd.Tests.Chart;

/// <summary>
/// The IAM policy in README.md ("AWS setup") against the AWS operations the production code can
/// send: nothing missing (Notary would fail with AccessDenied), nothing extra (a right no code
/// uses). The operations come from the clients' declared operations (each a static field of
/// <see cref="AcmClient"/>, <see cref="AcmPcaClient"/>, <see cref="SecretsManagerClient"/> or <see cref="KmsClient"/>), kept when production code
/// reaches them: read from the compiled production assemblies, a call graph from every method
/// outside the clients into the clients' methods, to the operation fields they load.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ReadmeIamPolicyTests
{
    /// <summary>Declared operations only tests send, each with why production code does not.</summary>
    private static readonly Dictionary<string, string> TestOnly = new(StringComparer.Ordinal)
    {
        // The moto tests count the certificates in the account; the issuer keeps its ARNs in grain
        // state and never lists.
        ["acm:ListCertificates"] = "tests count certificates",
        // The tests read stores back to check their bytes; Notary only writes stores.
        ["secretsmanager:GetSecretValue"] = "tests read stores back",
    };

    private static readonly Type[] Clients = [typeof(AcmClient), typeof(AcmPcaClient), typeof(SecretsManagerClient), typeof(KmsClient)];

    [Fact]
    public void The_README_policy_grants_exactly_the_operations_production_code_sends()
    {
        var declared = Clients.SelectMany(c => Operations(c).Values).ToHashSet(StringComparer.Ordinal);
        var sent = ProductionOperations();
        var policy = ReadmePolicyActions();

        // The test-only list is true: those are declared and not sent, and everything else declared is sent.
        Assert.Empty(TestOnly.Keys.Except(declared));
        Assert.Empty(sent.Intersect(TestOnly.Keys));
        Assert.Equal(declared.Except(TestOnly.Keys).Order(), sent.Order());

        Assert.Empty(sent.Except(policy));
        Assert.Empty(policy.Except(sent));
    }

    [Fact]
    public void The_call_graph_sees_a_production_call_and_misses_a_test_only_one()
    {
        // Guards the analysis itself: the store's CreateSecret and the issuer's RequestCertificate
        // are found through their callers (SecretsManagerStore, AcmApi), and the client's own
        // ListCertificatesAsync, which only tests call, does not count by being in the client.
        var sent = ProductionOperations();
        Assert.Contains("secretsmanager:CreateSecret", sent);
        Assert.Contains("acm:RequestCertificate", sent);
        Assert.DoesNotContain("acm:ListCertificates", sent);
    }

    /// <summary>Every action of the first ```json block after "### AWS setup" in README.md.</summary>
    private static HashSet<string> ReadmePolicyActions()
    {
        var lines = File.ReadAllLines(Path.Combine(Helm.RepositoryRoot, "README.md"));
        var section = Array.FindIndex(lines, l => l.Trim() == "### AWS setup");
        Assert.True(section >= 0, "README.md has no \"### AWS setup\" section");
        var start = Array.FindIndex(lines, section, l => l.Trim() == "```json");
        Assert.True(start > section, "no ```json block in README.md's AWS setup");
        var json = string.Join("\n", lines.Skip(start + 1).TakeWhile(l => l.Trim() != "```"));
        var policy = JsonNode.Parse(json)!.AsObject();
        var actions = new HashSet<string>(StringComparer.Ordinal);
        foreach (var statement in policy["Statement"]!.AsArray())
        {
            Assert.Equal("Allow", statement!["Effect"]!.GetValue<string>());
            var action = statement["Action"]!;
            foreach (var name in action is JsonArray list ? list.Select(a => a!.GetValue<string>()) : [action.GetValue<string>()])
            {
                Assert.DoesNotContain('*', name);
                Assert.True(actions.Add(name), $"{name} is granted twice");
            }
        }

        return actions;
    }

    /// <summary>Field name → "service:Operation" for a client's static AwsOperation fields.</summary>
    private static Dictionary<string, string> Operations(Type client)
    {
        var service = client == typeof(AcmClient) ? "acm" : client == typeof(AcmPcaClient) ? "acm-pca" : client == typeof(KmsClient) ? "kms" : "secretsmanager";
        return client.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(f => typeof(AwsOperation).IsAssignableFrom(f.FieldType))
            .ToDictionary(f => f.Name, f => $"{service}:{((AwsOperation)f.GetValue(null)!).Name}", StringComparer.Ordinal);
    }

    /// <summary>The operations production code can send, from the compiled assemblies.</summary>
    private static HashSet<string> ProductionOperations()
    {
        var assemblies = Directory.EnumerateFiles(AppContext.BaseDirectory, "Notary.*.dll")
            .Where(f => !Path.GetFileName(f).Contains(".Tests", StringComparison.Ordinal))
            .ToList();
        Assert.Contains(assemblies, a => Path.GetFileName(a) == "Notary.Aws.dll");
        Assert.Contains(assemblies, a => Path.GetFileName(a) == "Notary.Silo.dll");

        var graph = new CallGraph();
        foreach (var assembly in assemblies)
        {
            graph.Add(assembly);
        }

        var clientNames = Clients.Select(c => c.FullName!).ToHashSet(StringComparer.Ordinal);
        bool InClient(string node) => clientNames.Contains(node[..node.IndexOf("::", StringComparison.Ordinal)]);

        // Client members reached from outside the clients, then everything they reach inside.
        var reached = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>();
        foreach (var (caller, callees) in graph.Edges)
        {
            if (InClient(caller))
            {
                continue;
            }

            foreach (var callee in callees.Where(InClient))
            {
                if (reached.Add(callee))
                {
                    queue.Enqueue(callee);
                }
            }
        }

        while (queue.TryDequeue(out var node))
        {
            foreach (var callee in graph.Edges.GetValueOrDefault(node, []).Where(InClient))
            {
                if (reached.Add(callee))
                {
                    queue.Enqueue(callee);
                }
            }
        }

        var sent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var client in Clients)
        {
            foreach (var (field, operation) in Operations(client))
            {
                if (reached.Contains($"{client.FullName}::field:{field}"))
                {
                    sent.Add(operation);
                }
            }
        }

        return sent;
    }

    /// <summary>
    /// Who calls what in compiled code: nodes "Namespace.Type::Method" (overloads merged, which can
    /// only add reach), and "Namespace.Type::field:Name" for static fields loaded. Compiler-made
    /// nested types (async state machines, lambdas' closures) count as the method that made them.
    /// </summary>
    private sealed class CallGraph
    {
        private static readonly Dictionary<short, OpCode> OneByte = [];
        private static readonly Dictionary<short, OpCode> TwoByte = [];

        static CallGraph()
        {
            foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var op = (OpCode)field.GetValue(null)!;
                if (op.Size == 1)
                {
                    OneByte[op.Value] = op;
                }
                else
                {
                    TwoByte[(short)(op.Value & 0xff)] = op;
                }
            }
        }

        public Dictionary<string, HashSet<string>> Edges { get; } = new(StringComparer.Ordinal);

        public void Add(string path)
        {
            using var pe = new PEReader(File.OpenRead(path));
            var md = pe.GetMetadataReader();
            foreach (var typeHandle in md.TypeDefinitions)
            {
                var type = md.GetTypeDefinition(typeHandle);
                foreach (var methodHandle in type.GetMethods())
                {
                    var method = md.GetMethodDefinition(methodHandle);
                    if (method.RelativeVirtualAddress == 0)
                    {
                        continue;
                    }

                    var caller = Node(md, typeHandle, md.GetString(method.Name));
                    if (!Edges.TryGetValue(caller, out var callees))
                    {
                        Edges[caller] = callees = new HashSet<string>(StringComparer.Ordinal);
                    }

                    var il = pe.GetMethodBody(method.RelativeVirtualAddress).GetILReader();
                    while (il.RemainingBytes > 0)
                    {
                        var code = il.ReadByte();
                        var op = code == 0xfe ? TwoByte[il.ReadByte()] : OneByte[code];
                        switch (op.OperandType)
                        {
                            case OperandType.InlineMethod:
                                if (Callee(md, MetadataTokens.EntityHandle(il.ReadInt32())) is { } callee)
                                {
                                    callees.Add(callee);
                                }

                                break;
                            case OperandType.InlineField:
                                if (Field(md, MetadataTokens.EntityHandle(il.ReadInt32())) is { } field)
                                {
                                    callees.Add(field);
                                }

                                break;
                            case OperandType.InlineNone:
                                break;
                            case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                                il.ReadByte();
                                break;
                            case OperandType.InlineVar:
                                il.ReadInt16();
                                break;
                            case OperandType.InlineI8 or OperandType.InlineR:
                                il.ReadInt64();
                                break;
                            case OperandType.InlineSwitch:
                                for (var targets = il.ReadInt32(); targets > 0; targets--)
                                {
                                    il.ReadInt32();
                                }

                                break;
                            default:
                                il.ReadInt32();
                                break;
                        }
                    }
                }
            }
        }

        /// <summary>"Namespace.Outer::Method": a compiler-made nested type stands for the method that made it (&lt;Method&gt;d__3, &lt;Method&gt;b__0).</summary>
        private static string Node(MetadataReader md, TypeDefinitionHandle typeHandle, string member)
        {
            var type = md.GetTypeDefinition(typeHandle);
            var name = md.GetString(type.Name);
            if (type.GetDeclaringType() is { IsNil: false } outer)
            {
                return Node(md, outer, name.StartsWith('<') ? Made(name) ?? member : member);
            }

            return $"{md.GetString(type.Namespace)}.{name}::{(member.StartsWith('<') ? Made(member) ?? member : member)}";
        }

        /// <summary>"Method" of "&lt;Method&gt;d__3"; null for closures named after no method ("&lt;&gt;c").</summary>
        private static string? Made(string generated)
        {
            var end = generated.IndexOf('>', StringComparison.Ordinal);
            return end > 1 ? generated[1..end] : null;
        }

        private static string? Callee(MetadataReader md, EntityHandle handle) => handle.Kind switch
        {
            HandleKind.MethodDefinition => Node(md, md.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType(), md.GetString(md.GetMethodDefinition((MethodDefinitionHandle)handle).Name)),
            HandleKind.MemberReference => TypeName(md, md.GetMemberReference((MemberReferenceHandle)handle).Parent) is { } type ? $"{type}::{md.GetString(md.GetMemberReference((MemberReferenceHandle)handle).Name)}" : null,
            HandleKind.MethodSpecification => Callee(md, md.GetMethodSpecification((MethodSpecificationHandle)handle).Method),
            _ => null,
        };

        private static string? Field(MetadataReader md, EntityHandle handle) => handle.Kind switch
        {
            HandleKind.FieldDefinition => Node(md, md.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType(), "field:" + md.GetString(md.GetFieldDefinition((FieldDefinitionHandle)handle).Name)),
            HandleKind.MemberReference => TypeName(md, md.GetMemberReference((MemberReferenceHandle)handle).Parent) is { } type ? $"{type}::field:{md.GetString(md.GetMemberReference((MemberReferenceHandle)handle).Name)}" : null,
            _ => null,
        };

        /// <summary>The full name of a referenced type; null for generic instantiations (no client is generic).</summary>
        private static string? TypeName(MetadataReader md, EntityHandle handle)
        {
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    var node = Node(md, (TypeDefinitionHandle)handle, "x");
                    return node[..node.IndexOf("::", StringComparison.Ordinal)];
                case HandleKind.TypeReference:
                    var reference = md.GetTypeReference((TypeReferenceHandle)handle);
                    return reference.ResolutionScope.Kind == HandleKind.TypeReference
                        ? TypeName(md, (TypeReferenceHandle)reference.ResolutionScope)
                        : $"{md.GetString(reference.Namespace)}.{md.GetString(reference.Name)}";
                default:
                    return null;
            }
        }
    }
}
