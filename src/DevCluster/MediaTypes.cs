namespace Notary.DevCluster;

/// <summary>What a response carries: the object (or list) itself, or one of meta.k8s.io's transforms of it.</summary>
internal enum Representation
{
    Object,
    Table,
    PartialObjectMetadata,
    PartialObjectMetadataList,
}

/// <summary>The outcome of Accept negotiation: the representation and, for a transform, its meta.k8s.io version.</summary>
internal sealed record MediaTarget(Representation As, string MetaVersion)
{
    public static readonly MediaTarget Object = new(Representation.Object, "v1");

    /// <summary>"meta.k8s.io/v1" or "meta.k8s.io/v1beta1": the apiVersion of a transformed answer.</summary>
    public string MetaApiVersion => "meta.k8s.io/" + MetaVersion;
}

/// <summary>
/// Accept negotiation as kube-apiserver does it (apiserver's negotiation package and
/// RequestScope.AllowsMediaTypeTransform): the clauses of the header are tried in order and the first
/// one the server can serve wins. A clause with <c>as=Table</c>, <c>as=PartialObjectMetadata</c> or
/// <c>as=PartialObjectMetadataList</c> is servable only with <c>g=meta.k8s.io</c> and <c>v=v1</c> or
/// <c>v1beta1</c> (Table only as JSON or YAML); any other <c>as</c> is not, so a client that lists a
/// plain <c>application/json</c> after it falls back to the object. Nothing servable: 406.
/// The chosen clause does not know yet whether the answer is one object or a list: asking
/// PartialObjectMetadata of a list (or PartialObjectMetadataList of one object) is a 406 of its own
/// (<see cref="Output"/>), and a watch turns each event's object with the single-object kind.
/// </summary>
/// <remarks>
/// Where DevCluster differs: answers are always JSON. A protobuf or YAML clause is skipped (the
/// clients that send it, kubectl's typed clients, list JSON after it); when only such clauses were
/// given the answer is the JSON object, as before this negotiation existed.
/// </remarks>
internal static class MediaTypes
{
    public const string Accepted = "application/json, application/yaml, application/vnd.kubernetes.protobuf";

    /// <summary>The target for <paramref name="accept"/>; throws 406 NotAcceptable when no clause can be served.</summary>
    public static MediaTarget Negotiate(string accept)
    {
        if (string.IsNullOrWhiteSpace(accept))
        {
            return MediaTarget.Object;
        }

        var onlyOtherEncodings = true;
        foreach (var clause in accept.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = clause.Split(';', StringSplitOptions.TrimEntries);
            var mediaType = parts[0].ToLowerInvariant();
            string? @as = null, group = null, version = null;
            foreach (var parameter in parts.Skip(1))
            {
                var eq = parameter.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    continue;
                }

                var value = parameter[(eq + 1)..].Trim().Trim('"');
                switch (parameter[..eq].Trim())
                {
                    case "as":
                        @as = value;
                        break;
                    case "g":
                        group = value;
                        break;
                    case "v":
                        version = value;
                        break;
                }
            }

            if (mediaType is "application/vnd.kubernetes.protobuf" or "application/yaml" or "application/cbor")
            {
                continue;
            }

            onlyOtherEncodings = false;
            if (mediaType is not ("application/json" or "application/*" or "*/*"))
            {
                continue;
            }

            if (@as is null)
            {
                return MediaTarget.Object;
            }

            if (group != "meta.k8s.io" || version is not ("v1" or "v1beta1"))
            {
                continue;
            }

            switch (@as)
            {
                case "Table":
                    return new MediaTarget(Representation.Table, version);
                case "PartialObjectMetadata":
                    return new MediaTarget(Representation.PartialObjectMetadata, version);
                case "PartialObjectMetadataList":
                    return new MediaTarget(Representation.PartialObjectMetadataList, version);
            }
        }

        return onlyOtherEncodings ? MediaTarget.Object : throw NotAcceptable("only the following media types are accepted: " + Accepted);
    }

    public static ApiException NotAcceptable(string message) => new(406, "NotAcceptable", message);
}
