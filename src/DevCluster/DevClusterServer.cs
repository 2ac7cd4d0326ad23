using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Notary.DevCluster;

/// <summary>
/// An in-memory Kubernetes API server on 127.0.0.1 that real kubectl and KubernetesClient use as a cluster:
/// HTTPS with its own CA, bearer tokens and RBAC, discovery, OpenAPI v3, CRDs with structural schemas, the
/// built-ins Notary touches, watches with bookmarks and resume. For tests and dev mode.
/// </summary>
public sealed class DevClusterServer : IAsyncDisposable
{
    private readonly DevClusterOptions _options;
    private readonly ServerCertificates? _certificates;
    private readonly ApiCore _core;
    private readonly HttpFrontend _frontend;
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private WebApplication? _app;
    private int _port;

    private DevClusterServer(DevClusterOptions options)
    {
        _options = options;
        _certificates = options.Https ? ServerCertificates.Create(options.BindAddress) : null;
        Store = new Store(options.WatchHistoryLimit, options.WatchBufferSize);
        var registry = new ResourceRegistry();
        var authenticator = new Authenticator(options.AdminToken, Store);
        _core = new ApiCore(Store, registry, authenticator, new RbacAuthorizer(Store), TimeProvider.System);
        _frontend = new HttpFrontend(_core, new OpenApi(registry), options.BookmarkInterval, () => ServerAddress);
        Faults = new DevClusterFaults(this);
        Bootstrap.Seed(_core, options.InitialNamespaces);
    }

    internal Store Store { get; }

    /// <summary>The server's base address, e.g. https://127.0.0.1:43123.</summary>
    public Uri Url => new($"{(_options.Https ? "https" : "http")}://{ServerAddress}");

    private string ServerAddress => $"{(_options.BindAddress.Contains(':', StringComparison.Ordinal) ? "[" + _options.BindAddress + "]" : _options.BindAddress)}:{_port}";

    /// <summary>PEM of the CA that signed the serving certificate (kubeconfig certificate-authority-data).</summary>
    public string CaCertificatePem => _certificates?.CaPem ?? "";

    public string AdminToken => _options.AdminToken;

    public DevClusterFaults Faults { get; }

    /// <summary>
    /// Every authenticated request the server received, allowed or not, in arrival order (the latest 100,000): who made it and
    /// the attributes RBAC judges it by. Tests compare what a client did with the rules it was granted.
    /// </summary>
    public IReadOnlyList<AuditRecord> Audit => [.. _core.Audit];

    public static async Task<DevClusterServer> StartAsync(DevClusterOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = new DevClusterServer(options);
        try
        {
            foreach (var directory in options.CrdDirectories)
            {
                await server.InstallCrdsAsync(directory).ConfigureAwait(false);
            }

            await server.ListenAsync(options.Port, ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Writes a kubeconfig (cluster CA data, server URL, bearer token) and returns its path.</summary>
    public string WriteKubeconfig(string path, string? token = null, string context = "notary-dev")
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        var sb = new StringBuilder();
        sb.AppendLine("apiVersion: v1");
        sb.AppendLine("kind: Config");
        sb.AppendLine("clusters:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}");
        sb.AppendLine("  cluster:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    server: {Url.ToString().TrimEnd('/')}");
        if (_certificates is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"    certificate-authority-data: {Convert.ToBase64String(Encoding.UTF8.GetBytes(CaCertificatePem))}");
        }

        sb.AppendLine("users:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}-user");
        sb.AppendLine("  user:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    token: \"{token ?? AdminToken}\"");
        sb.AppendLine("contexts:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"- name: {context}");
        sb.AppendLine("  context:");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    cluster: {context}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    user: {context}-user");
        sb.AppendLine("    namespace: default");
        sb.AppendLine(CultureInfo.InvariantCulture, $"current-context: {context}");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>A KubernetesClient configuration for this server (admin token unless another is given).</summary>
    public k8s.KubernetesClientConfiguration ClientConfiguration(string? token = null)
    {
        var configuration = new k8s.KubernetesClientConfiguration
        {
            Host = Url.ToString().TrimEnd('/'),
            AccessToken = token ?? AdminToken,
        };
        if (_certificates is not null)
        {
            configuration.SslCaCerts = [X509CertificateLoader.LoadCertificate(_certificates.Ca.RawData)];
        }

        return configuration;
    }

    /// <summary>Installs every CustomResourceDefinition in a folder, as kubectl apply -f of its files would.</summary>
    public Task InstallCrdsAsync(string directory)
    {
        var files = Directory.GetFiles(directory)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            var docs = file.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? [JsonNode.Parse(text)] : Json.ParseYamlDocuments(text);
            foreach (var doc in docs.OfType<JsonObject>().Where(d => d.Str("kind") == "CustomResourceDefinition"))
            {
                Bootstrap.Apply(_core, doc);
            }
        }

        return Task.CompletedTask;
    }

    private async Task ListenAsync(int port, CancellationToken ct)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "Notary.DevCluster" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(IPAddress.Parse(_options.BindAddress), port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                if (_certificates is not null)
                {
                    listen.UseHttps(_certificates.Serving);
                }
            });
        });
        var app = builder.Build();
        app.Run(_frontend.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        var address = app.Services.GetService(typeof(IServer)) is IServer server
            ? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            : null;
        _port = address is not null ? new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal)).Port : port;
        _app = app;
    }

    internal async Task RestartAsync(CancellationToken ct)
    {
        await _lifecycle.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            await StopListeningAsync().ConfigureAwait(false);
            await ListenAsync(_port, ct).ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task StopListeningAsync()
    {
        if (_app is null)
        {
            return;
        }

        _frontend.StopWatches();
        Store.CloseWatches();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
        _frontend.ResumeWatches();
    }

    public async ValueTask DisposeAsync()
    {
        await _lifecycle.WaitAsync().ConfigureAwait(false);
        try
        {
            await StopListeningAsync().ConfigureAwait(false);
        }
        finally
        {
            _lifecycle.Release();
        }

        _lifecycle.Dispose();
        _frontend.Dispose();
        _core.Authenticator.Dispose();
        _certificates?.Dispose();
    }
}
