using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notary.EndToEnd.Tests.Support;
using Notary.Silo;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// Dev mode (DevCluster + NotaryHost, real TokenReview and SubjectAccessReview) with
/// <see cref="FakeBreachService"/> behind the breach API and every log line captured. To run the
/// same tests against the real breach grains, drop the fake from <see cref="ConfigureServices"/>.
/// </summary>
public sealed class BreachFixture : DevFixture
{
    public FakeBreachService Breaches { get; } = new();

    public LogCapture Logs { get; } = new();

    public IKubernetes Admin { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>Every token handed out, to prove none reaches a log line.</summary>
    public ConcurrentBag<string> Tokens { get; } = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Admin = new k8s.Kubernetes(Dev.Cluster.ClientConfiguration());
        Http = new HttpClient { BaseAddress = Dev.ApiUrl, Timeout = TimeSpan.FromSeconds(30) };
        Tokens.Add(Dev.Cluster.AdminToken);
    }

    public override async Task DisposeAsync()
    {
        Http.Dispose();
        (Admin as IDisposable)?.Dispose();
        await base.DisposeAsync();
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<IBreachService>(Breaches);
        services.AddSingleton<ILoggerProvider>(Logs);
    }

    public string AdminToken => Dev.Cluster.AdminToken;

    public async Task<string> NamespaceAsync()
    {
        var ns = "br-" + Guid.NewGuid().ToString("N")[..8];
        await Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns } });
        return ns;
    }

    /// <summary>A Certificate for the breach's Events to land on.</summary>
    public async Task CertificateAsync(string ns, string name) =>
        await Admin.CustomObjects.CreateNamespacedCustomObjectAsync(new JsonObject
        {
            ["apiVersion"] = "notary.dev/v1alpha1",
            ["kind"] = "Certificate",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["spec"] = new JsonObject
            {
                ["type"] = "Private",
                ["fqdn"] = $"{name}.{ns}.svc.cluster.local",
                ["privateKey"] = new JsonObject { ["algorithm"] = "ECDSA", ["size"] = 256 },
            },
        }, "notary.dev", "v1alpha1", ns, "certificates");

    /// <summary>A token (TokenRequest) for a new ServiceAccount; with <paramref name="verbs"/>, a Role on breaches.notary.dev in <paramref name="ns"/>.</summary>
    public async Task<(string Token, string User)> ServiceAccountAsync(string ns, string name, params string[] verbs)
    {
        await Admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, ns);
        if (verbs.Length > 0)
        {
            await Admin.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role
            {
                Metadata = new V1ObjectMeta { Name = name + "-breaches" },
                Rules = [new V1PolicyRule { ApiGroups = ["notary.dev"], Resources = ["breaches"], Verbs = verbs }],
            }, ns);
            await Admin.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
            {
                Metadata = new V1ObjectMeta { Name = name + "-breaches" },
                RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = name + "-breaches" },
                Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns }],
            }, ns);
        }

        var request = await Admin.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600 } }, name, ns);
        Tokens.Add(request.Status.Token);
        return (request.Status.Token, $"system:serviceaccount:{ns}:{name}");
    }

    /// <summary>One call to the breach API.</summary>
    public async Task<ApiAnswer> CallAsync(HttpMethod method, string path, string? token, string? body = null, string? authorization = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }
        else if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new ApiAnswer((int)response.StatusCode, text, response.Headers.Location?.ToString(),
            string.Join(", ", response.Headers.WwwAuthenticate.Select(h => h.ToString())), response.Content.Headers.ContentType?.MediaType);
    }

    public Task<ApiAnswer> PostAsync(string? token, object body) => CallAsync(HttpMethod.Post, BreachApiEndpoints.BasePath, token, JsonSerializer.Serialize(body));

    /// <summary>GETs a breach until it is done (the fake moves on with each GET; a real breach takes its time).</summary>
    public async Task<ApiAnswer> FollowAsync(string location, string token)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var answer = await CallAsync(HttpMethod.Get, location, token);
            Assert.True(answer.Status == 200, answer.ToString());
            if (answer.Json.GetProperty("done").GetBoolean())
            {
                return answer;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
        }
    }

    /// <summary>The Events on a Certificate, through kubectl as an operator reads them.</summary>
    public async Task<List<(string Type, string Reason, string Message)>> EventsAsync(string ns, string certificate)
    {
        using var json = JsonDocument.Parse(await OkAsync("get", "events", "-n", ns, "--field-selector", $"involvedObject.kind=Certificate,involvedObject.name={certificate}", "-o", "json"));
        return [.. json.RootElement.GetProperty("items").EnumerateArray().Select(e =>
            (e.GetProperty("type").GetString()!, e.GetProperty("reason").GetString()!, e.GetProperty("message").GetString()!))];
    }
}

/// <summary>What the API answered: status, body, Location, WWW-Authenticate and the media type.</summary>
public sealed record ApiAnswer(int Status, string Body, string? Location, string Challenge, string? MediaType)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Error => Json.GetProperty("error").GetString()!;

    public override string ToString() => $"{Status} {Body}";
}

/// <summary>Every log line of the host, formatted.</summary>
public sealed class LogCapture : ILoggerProvider
{
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            capture.Lines.Enqueue((category, logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

[CollectionDefinition(Name)]
public sealed class BreachCollection : ICollectionFixture<BreachFixture>
{
    public const string Name = "breach API";
}
