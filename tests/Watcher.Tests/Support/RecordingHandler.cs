namespace Notary.Watcher.Tests.Support;

/// <summary>One request a client sent and every byte of the answer it read (a watch's stream as far as it was read).</summary>
public sealed class Exchange(string method, string pathAndQuery, string accept)
{
    private readonly MemoryStream _body = new();

    public string Method { get; } = method;

    public string PathAndQuery { get; } = pathAndQuery;

    public string Accept { get; } = accept;

    public string Path => PathAndQuery.Split('?')[0];

    public byte[] Body
    {
        get
        {
            lock (_body)
            {
                return _body.ToArray();
            }
        }
    }

    internal void Append(ReadOnlySpan<byte> bytes)
    {
        lock (_body)
        {
            _body.Write(bytes);
        }
    }
}

/// <summary>
/// A handler in KubernetesClient's pipeline that records what the client received, byte for byte:
/// what a process holds in memory is what it read from the wire, so a test can tell that a Secret's
/// data never reached it at all (not merely that it was dropped afterwards).
/// </summary>
public sealed class RecordingHandler : DelegatingHandler
{
    private readonly Lock _lock = new();
    private readonly List<Exchange> _exchanges = [];

    public IReadOnlyList<Exchange> Exchanges
    {
        get
        {
            lock (_lock)
            {
                return [.. _exchanges];
            }
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var accept = request.Headers.TryGetValues("Accept", out var values) ? string.Join(",", values) : "";
        var exchange = new Exchange(request.Method.Method, request.RequestUri!.PathAndQuery, accept);
        lock (_lock)
        {
            _exchanges.Add(exchange);
        }

        var response = await base.SendAsync(request, cancellationToken);
        var inner = response.Content;
        var recorded = new StreamContent(new TeeStream(await inner.ReadAsStreamAsync(cancellationToken), exchange));
        foreach (var header in inner.Headers)
        {
            recorded.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        response.Content = recorded;
        return response;
    }

    /// <summary>Reads through to the response stream, keeping a copy of what was read.</summary>
    private sealed class TeeStream(Stream inner, Exchange exchange) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            exchange.Append(buffer.AsSpan(offset, read));
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            exchange.Append(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
