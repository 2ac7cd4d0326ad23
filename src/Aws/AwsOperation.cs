using System.Text.Json.Serialization.Metadata;

namespace Notary.Aws;

/// <summary>
/// One operation of a service: its name (the suffix of X-Amz-Target) and the shapes of its request
/// and response. Each client lists the operations it calls, so the wire-shape tests can compare
/// every one of them with the service model.
/// </summary>
public abstract class AwsOperation(string name)
{
    public string Name { get; } = name;

    public abstract Type RequestType { get; }

    public abstract Type ResponseType { get; }

    public override string ToString() => Name;
}

/// <inheritdoc cref="AwsOperation"/>
public sealed class AwsOperation<TRequest, TResponse>(string name, JsonTypeInfo<TRequest> request, JsonTypeInfo<TResponse> response) : AwsOperation(name)
{
    public JsonTypeInfo<TRequest> Request { get; } = request;

    public JsonTypeInfo<TResponse> Response { get; } = response;

    public override Type RequestType => typeof(TRequest);

    public override Type ResponseType => typeof(TResponse);
}
