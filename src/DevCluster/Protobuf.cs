using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Notary.DevCluster;

/// <summary>
/// Decodes the Kubernetes protobuf encoding (the "k8s\0" runtime.Unknown envelope) into JSON for the kinds that
/// kubectl's typed clients send as protobuf: kubectl create secret/configmap/namespace/serviceaccount/role/
/// rolebinding/token and kubectl auth. Field numbers follow k8s.io/api's generated.proto; unknown fields are skipped.
/// </summary>
internal static class Protobuf
{
    public const string ContentType = "application/vnd.kubernetes.protobuf";

    private static readonly byte[] Magic = [0x6b, 0x38, 0x73, 0x00];

    private enum K
    {
        String,
        Bytes,
        Int32,
        Int64,
        Bool,
        Message,
        Time,
        MicroTime,
        MapStringString,
        MapStringBytes,
        MapStringMessage,
    }

    private sealed record F(int Number, string Name, K Kind, string? Message = null, bool Repeated = false);

    private static readonly Dictionary<string, F[]> Messages = new(StringComparer.Ordinal)
    {
        ["ObjectMeta"] =
        [
            new(1, "name", K.String), new(2, "generateName", K.String), new(3, "namespace", K.String), new(4, "selfLink", K.String),
            new(5, "uid", K.String), new(6, "resourceVersion", K.String), new(7, "generation", K.Int64), new(8, "creationTimestamp", K.Time),
            new(9, "deletionTimestamp", K.Time), new(10, "deletionGracePeriodSeconds", K.Int64), new(11, "labels", K.MapStringString),
            new(12, "annotations", K.MapStringString), new(13, "ownerReferences", K.Message, "OwnerReference", true),
            new(14, "finalizers", K.String, Repeated: true),
        ],
        ["OwnerReference"] =
        [
            new(1, "kind", K.String), new(3, "name", K.String), new(4, "uid", K.String), new(5, "apiVersion", K.String),
            new(6, "controller", K.Bool), new(7, "blockOwnerDeletion", K.Bool),
        ],
        ["ObjectReference"] =
        [
            new(1, "kind", K.String), new(2, "namespace", K.String), new(3, "name", K.String), new(4, "uid", K.String),
            new(5, "apiVersion", K.String), new(6, "resourceVersion", K.String), new(7, "fieldPath", K.String),
        ],
        ["LocalObjectReference"] = [new(1, "name", K.String)],
        ["v1/Secret"] =
        [
            new(1, "metadata", K.Message, "ObjectMeta"), new(2, "data", K.MapStringBytes), new(3, "type", K.String),
            new(4, "stringData", K.MapStringString), new(5, "immutable", K.Bool),
        ],
        ["v1/ConfigMap"] =
        [
            new(1, "metadata", K.Message, "ObjectMeta"), new(2, "data", K.MapStringString), new(3, "binaryData", K.MapStringBytes),
            new(4, "immutable", K.Bool),
        ],
        ["v1/Namespace"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "NamespaceSpec"), new(3, "status", K.Message, "NamespaceStatus")],
        ["NamespaceSpec"] = [new(1, "finalizers", K.String, Repeated: true)],
        ["NamespaceStatus"] = [new(1, "phase", K.String)],
        ["v1/ServiceAccount"] =
        [
            new(1, "metadata", K.Message, "ObjectMeta"), new(2, "secrets", K.Message, "ObjectReference", true),
            new(3, "imagePullSecrets", K.Message, "LocalObjectReference", true), new(4, "automountServiceAccountToken", K.Bool),
        ],
        ["authentication.k8s.io/v1/TokenRequest"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "TokenRequestSpec")],
        ["TokenRequestSpec"] = [new(1, "audiences", K.String, Repeated: true), new(4, "expirationSeconds", K.Int64), new(3, "boundObjectRef", K.Message, "BoundObjectReference")],
        ["BoundObjectReference"] = [new(1, "kind", K.String), new(2, "apiVersion", K.String), new(3, "name", K.String), new(4, "uid", K.String)],
        ["authentication.k8s.io/v1/TokenReview"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "TokenReviewSpec")],
        ["TokenReviewSpec"] = [new(1, "token", K.String), new(2, "audiences", K.String, Repeated: true)],
        ["authentication.k8s.io/v1/SelfSubjectReview"] = [new(1, "metadata", K.Message, "ObjectMeta")],
        ["authorization.k8s.io/v1/SelfSubjectAccessReview"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "SelfSubjectAccessReviewSpec")],
        ["SelfSubjectAccessReviewSpec"] = [new(1, "resourceAttributes", K.Message, "ResourceAttributes"), new(2, "nonResourceAttributes", K.Message, "NonResourceAttributes")],
        ["authorization.k8s.io/v1/SelfSubjectRulesReview"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "SelfSubjectRulesReviewSpec")],
        ["SelfSubjectRulesReviewSpec"] = [new(1, "namespace", K.String)],
        ["authorization.k8s.io/v1/SubjectAccessReview"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "SubjectAccessReviewSpec")],
        ["authorization.k8s.io/v1/LocalSubjectAccessReview"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "SubjectAccessReviewSpec")],
        ["SubjectAccessReviewSpec"] =
        [
            new(1, "resourceAttributes", K.Message, "ResourceAttributes"), new(2, "nonResourceAttributes", K.Message, "NonResourceAttributes"),
            new(3, "user", K.String), new(4, "groups", K.String, Repeated: true), new(5, "extra", K.MapStringMessage, "ExtraValue"), new(6, "uid", K.String),
        ],
        ["ExtraValue"] = [new(1, "items", K.String, Repeated: true)],
        ["ResourceAttributes"] =
        [
            new(1, "namespace", K.String), new(2, "verb", K.String), new(3, "group", K.String), new(4, "version", K.String),
            new(5, "resource", K.String), new(6, "subresource", K.String), new(7, "name", K.String),
        ],
        ["NonResourceAttributes"] = [new(1, "path", K.String), new(2, "verb", K.String)],
        ["rbac.authorization.k8s.io/v1/Role"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "rules", K.Message, "PolicyRule", true)],
        ["rbac.authorization.k8s.io/v1/ClusterRole"] =
        [
            new(1, "metadata", K.Message, "ObjectMeta"), new(2, "rules", K.Message, "PolicyRule", true), new(3, "aggregationRule", K.Message, "AggregationRule"),
        ],
        ["AggregationRule"] = [new(1, "clusterRoleSelectors", K.Message, "LabelSelector", true)],
        ["LabelSelector"] = [new(1, "matchLabels", K.MapStringString)],
        ["PolicyRule"] =
        [
            new(1, "verbs", K.String, Repeated: true), new(2, "apiGroups", K.String, Repeated: true), new(3, "resources", K.String, Repeated: true),
            new(4, "resourceNames", K.String, Repeated: true), new(5, "nonResourceURLs", K.String, Repeated: true),
        ],
        ["rbac.authorization.k8s.io/v1/RoleBinding"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "subjects", K.Message, "Subject", true), new(3, "roleRef", K.Message, "RoleRef")],
        ["rbac.authorization.k8s.io/v1/ClusterRoleBinding"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "subjects", K.Message, "Subject", true), new(3, "roleRef", K.Message, "RoleRef")],
        ["Subject"] = [new(1, "kind", K.String), new(2, "apiGroup", K.String), new(3, "name", K.String), new(4, "namespace", K.String)],
        ["RoleRef"] = [new(1, "apiGroup", K.String), new(2, "kind", K.String), new(3, "name", K.String)],
        ["coordination.k8s.io/v1/Lease"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "LeaseSpec")],
        ["LeaseSpec"] =
        [
            new(1, "holderIdentity", K.String), new(2, "leaseDurationSeconds", K.Int32), new(3, "acquireTime", K.MicroTime),
            new(4, "renewTime", K.MicroTime), new(5, "leaseTransitions", K.Int32), new(6, "strategy", K.String), new(7, "preferredHolder", K.String),
        ],
        ["apps/v1/Deployment"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "DeploymentSpec")],
        ["DeploymentSpec"] =
        [
            new(1, "replicas", K.Int32), new(2, "selector", K.Message, "LabelSelector"), new(3, "template", K.Message, "PodTemplateSpec"),
            new(4, "strategy", K.Message, "DeploymentStrategy"), new(5, "minReadySeconds", K.Int32), new(6, "revisionHistoryLimit", K.Int32),
            new(7, "paused", K.Bool), new(9, "progressDeadlineSeconds", K.Int32),
        ],
        ["DeploymentStrategy"] = [new(1, "type", K.String)],
        ["PodTemplateSpec"] = [new(1, "metadata", K.Message, "ObjectMeta"), new(2, "spec", K.Message, "PodSpec")],
        ["PodSpec"] =
        [
            new(2, "containers", K.Message, "Container", true), new(3, "restartPolicy", K.String), new(4, "terminationGracePeriodSeconds", K.Int64),
            new(6, "dnsPolicy", K.String), new(7, "nodeSelector", K.MapStringString), new(8, "serviceAccountName", K.String),
            new(15, "imagePullSecrets", K.Message, "LocalObjectReference", true), new(19, "schedulerName", K.String),
            new(20, "initContainers", K.Message, "Container", true),
        ],
        ["Container"] =
        [
            new(1, "name", K.String), new(2, "image", K.String), new(3, "command", K.String, Repeated: true), new(4, "args", K.String, Repeated: true),
            new(5, "workingDir", K.String), new(6, "ports", K.Message, "ContainerPort", true), new(7, "env", K.Message, "EnvVar", true),
            new(13, "terminationMessagePath", K.String), new(14, "imagePullPolicy", K.String), new(20, "terminationMessagePolicy", K.String),
        ],
        ["ContainerPort"] = [new(1, "name", K.String), new(2, "hostPort", K.Int32), new(3, "containerPort", K.Int32), new(4, "protocol", K.String), new(5, "hostIP", K.String)],
        ["EnvVar"] = [new(1, "name", K.String), new(2, "value", K.String)],
        ["DeleteOptions"] = [new(1, "gracePeriodSeconds", K.Int64), new(2, "preconditions", K.Message, "Preconditions"), new(4, "propagationPolicy", K.String)],
        ["Preconditions"] = [new(1, "uid", K.String), new(2, "resourceVersion", K.String)],
    };

    public static bool IsProtobuf(string contentType) => contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    /// <summary>Converts a protobuf request body to JSON; throws <see cref="ApiException"/> for kinds it does not know.</summary>
    public static JsonObject Decode(byte[] body)
    {
        if (body.Length < 4 || !body.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw ApiException.BadRequest("provided object is not a valid protobuf message: missing magic prefix");
        }

        var envelope = new Reader(body.AsMemory(4));
        string apiVersion = "", kind = "";
        ReadOnlyMemory<byte> raw = default;
        while (envelope.Next(out var number, out var wire))
        {
            switch (number)
            {
                case 1:
                    var typeMeta = new Reader(envelope.Bytes());
                    while (typeMeta.Next(out var n, out var w))
                    {
                        if (n == 1)
                        {
                            apiVersion = typeMeta.String();
                        }
                        else if (n == 2)
                        {
                            kind = typeMeta.String();
                        }
                        else
                        {
                            typeMeta.Skip(w);
                        }
                    }

                    break;
                case 2:
                    raw = envelope.Bytes();
                    break;
                default:
                    envelope.Skip(wire);
                    break;
            }
        }

        var key = apiVersion + "/" + kind;
        if (!Messages.ContainsKey(key))
        {
            throw new ApiException(415, "UnsupportedMediaType", $"DevCluster cannot decode {kind} ({apiVersion}) from protobuf; send application/json", new JsonObject());
        }

        var result = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind };
        foreach (var (k, v) in Message(raw, key))
        {
            result[k] = v?.DeepClone();
        }

        return result;
    }

    private static JsonObject Message(ReadOnlyMemory<byte> bytes, string name)
    {
        var fields = Messages[name];
        var o = new JsonObject();
        var reader = new Reader(bytes);
        while (reader.Next(out var number, out var wire))
        {
            var f = Array.Find(fields, x => x.Number == number);
            if (f is null)
            {
                reader.Skip(wire);
                continue;
            }

            JsonNode? value;
            switch (f.Kind)
            {
                case K.String:
                    value = reader.String();
                    break;
                case K.Bytes:
                    value = Convert.ToBase64String(reader.Bytes().Span);
                    break;
                case K.Int32:
                case K.Int64:
                    value = (long)reader.Varint();
                    break;
                case K.Bool:
                    value = reader.Varint() != 0;
                    break;
                case K.Message:
                    value = Message(reader.Bytes(), f.Message!);
                    break;
                case K.Time:
                case K.MicroTime:
                    value = Time(reader.Bytes(), f.Kind == K.MicroTime);
                    break;
                default:
                    var (mapKey, mapValue) = MapEntry(reader.Bytes(), f);
                    if (o[f.Name] is not JsonObject map)
                    {
                        map = [];
                        o[f.Name] = map;
                    }

                    map[mapKey] = mapValue;
                    continue;
            }

            // Go's JSON omits empty optional scalars (omitempty) that gogo protobuf always writes.
            if (!f.Repeated && (value is null || (f.Kind == K.String && value.AsString()!.Length == 0) || (f.Kind is K.Int32 or K.Int64 && value.AsLong() == 0) ||
                                (f.Kind == K.Bool && value.AsBool() == false && f.Name is not ("immutable" or "automountServiceAccountToken"))))
            {
                continue;
            }

            if (f.Repeated)
            {
                if (o[f.Name] is not JsonArray list)
                {
                    list = [];
                    o[f.Name] = list;
                }

                list.Add(value);
            }
            else
            {
                o[f.Name] = value;
            }
        }

        return o;
    }

    private static (string Key, JsonNode? Value) MapEntry(ReadOnlyMemory<byte> bytes, F f)
    {
        var reader = new Reader(bytes);
        var key = "";
        JsonNode? value = f.Kind switch
        {
            K.MapStringBytes => "",
            K.MapStringMessage => new JsonArray(),
            _ => "",
        };
        while (reader.Next(out var number, out var wire))
        {
            if (number == 1)
            {
                key = reader.String();
            }
            else if (number == 2)
            {
                value = f.Kind switch
                {
                    K.MapStringBytes => Convert.ToBase64String(reader.Bytes().Span),
                    K.MapStringMessage => Message(reader.Bytes(), f.Message!)["items"]?.DeepClone() ?? new JsonArray(),
                    _ => reader.String(),
                };
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return (key, value);
    }

    private static JsonValue? Time(ReadOnlyMemory<byte> bytes, bool micro)
    {
        var reader = new Reader(bytes);
        long seconds = 0, nanos = 0;
        while (reader.Next(out var number, out var wire))
        {
            if (number == 1)
            {
                seconds = (long)reader.Varint();
            }
            else if (number == 2)
            {
                nanos = (long)reader.Varint();
            }
            else
            {
                reader.Skip(wire);
            }
        }

        if (seconds == 0 && nanos == 0)
        {
            return null;
        }

        var t = DateTimeOffset.FromUnixTimeSeconds(seconds).AddTicks(nanos / 100);
        return JsonValue.Create(micro ? Json.MicroTimestamp(t) : Json.Timestamp(t));
    }

    private sealed class Reader(ReadOnlyMemory<byte> data)
    {
        private int _position;

        public bool Next(out int number, out int wire)
        {
            if (_position >= data.Length)
            {
                number = 0;
                wire = 0;
                return false;
            }

            var tag = Varint();
            number = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong Varint()
        {
            ulong result = 0;
            var shift = 0;
            while (true)
            {
                if (_position >= data.Length || shift > 63)
                {
                    throw ApiException.BadRequest("invalid protobuf: truncated varint");
                }

                var b = data.Span[_position++];
                result |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return result;
                }

                shift += 7;
            }
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            var length = (int)Varint();
            if (length < 0 || _position + length > data.Length)
            {
                throw ApiException.BadRequest("invalid protobuf: truncated field");
            }

            var slice = data.Slice(_position, length);
            _position += length;
            return slice;
        }

        public string String() => Encoding.UTF8.GetString(Bytes().Span);

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    _position += 8;
                    break;
                case 2:
                    Bytes();
                    break;
                case 5:
                    _position += 4;
                    break;
                default:
                    throw ApiException.BadRequest("invalid protobuf wire type " + wire.ToString(CultureInfo.InvariantCulture));
            }
        }
    }
}
