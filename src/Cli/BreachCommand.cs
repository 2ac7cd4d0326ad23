using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Notary.Api.Contracts;
using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Cli;

/// <summary>What the <c>breach</c> command was asked to do.</summary>
public sealed record BreachCommandOptions
{
    /// <summary>report (POST), status (GET and follow) or lift (DELETE).</summary>
    public required string Action { get; init; }

    /// <summary>NAMESPACE/NAME to report; the breach id to follow or lift.</summary>
    public required string Target { get; init; }

    public BreachMode Mode { get; init; }

    public string Reason { get; init; } = string.Empty;

    public bool DryRun { get; init; }

    public required Uri Server { get; init; }

    public required string Token { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// The <c>breach</c> command: incident tooling for a person at a terminal. Reports a breach
/// through Notary's HTTP API, prints its impact grouped by kind, then follows its progress
/// (polling with a bounded backoff, within <c>--timeout</c>) and prints each item's final status.
/// Exit codes: 0 Completed, lifted or a dry run; 1 Failed, refused, unreachable or timed out;
/// 2 bad arguments.
/// </summary>
public sealed class BreachCommand(HttpClient http, BreachCommandOptions options, TextWriter stdout, TextWriter stderr)
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadArguments = 2;

    public const string DefaultServer = "http://127.0.0.1:8080";

    public const string Usage = """
          dotnet run --project src/Cli -- breach NAMESPACE/NAME --mode rotate|quarantine --reason TEXT
                 [--dry-run] [--server URL] [--token TOKEN] [--timeout DURATION]
          dotnet run --project src/Cli -- breach status ID [--server URL] [--token TOKEN] [--timeout DURATION]
          dotnet run --project src/Cli -- breach lift ID [--server URL] [--token TOKEN]
        """;

    public const string Help = """
          breach  reports a compromised certificate to a running Notary (POST /v1/breaches), prints
                  the keystores, truststores and workloads it changes, and follows the breach until
                  it finishes. "breach status ID" follows an earlier one; "breach lift ID" lifts a
                  quarantine.
                  --mode      rotate (re-key, re-issue, rebuild, restart) or quarantine (take it out
                              of every truststore until lifted)
                  --reason    what happened (at most 1024 characters; shown in Events)
                  --dry-run   only print the impact; nothing changes
                  --server    Notary's HTTP API (default NOTARY_SERVER, else http://127.0.0.1:8080,
                              e.g. through kubectl port-forward); https:// for any other host (a
                              token is never sent in clear off this machine)
                  --token     a Kubernetes bearer token (default NOTARY_TOKEN, which keeps it out
                              of the process list), made for Notary alone, e.g.
                              $(kubectl create token NAME -n NAMESPACE --audience notary);
                              it needs create on breaches.notary.dev in the certificate's namespace
                              (delete to lift)
                  --timeout   how long to follow, a Go duration (default 10m)
                  Exit code 0 when the breach completed (or a dry run, or a lift), 1 when it
                  failed or Notary refused, 2 for bad arguments.
        """;

    /// <summary>Following a breach polls after 250 ms, doubling up to every 5 s.</summary>
    private static readonly Grains.Abstractions.Retry.ExponentialBackoff Poll = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <c>breach ARGS</c> (the arguments after "breach") against the console.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Any(a => a is "-h" or "--help"))
        {
            await Console.Out.WriteLineAsync("Usage:\n" + Usage + "\n" + Help + CliTls.Help);
            return Ok;
        }

        var (caFile, rest, caError) = CliTls.TakeCaFile(args, Environment.GetEnvironmentVariable);
        var (options, error) = caError is null ? Parse(rest, Environment.GetEnvironmentVariable) : (null, caError);
        if (options is null)
        {
            await Console.Error.WriteLineAsync($"{error}\n\nUsage:\n{Usage}");
            return BadArguments;
        }

        using var stop = new CancellationTokenSource();
        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            stop.Cancel();
        }

        Console.CancelKeyPress += OnCancel;
        try
        {
            using var http = new HttpClient(CliTls.Handler(caFile)) { BaseAddress = options.Server, Timeout = Timeout.InfiniteTimeSpan };
            return await new BreachCommand(http, options, Console.Out, Console.Error).RunAsync(stop.Token);
        }
        finally
        {
            Console.CancelKeyPress -= OnCancel;
        }
    }

    /// <summary>Parses the arguments after "breach", or says which one is wrong.</summary>
    public static (BreachCommandOptions? Options, string? Error) Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        if (args.Count == 0)
        {
            return (null, "breach needs a certificate (NAMESPACE/NAME), or status ID, or lift ID.");
        }

        var action = args[0] is "lift" or "status" ? args[0] : "report";
        var rest = action == "report" ? args : args.Skip(1).ToList();
        string? target = null, mode = null, reason = null, server = null, token = null, timeout = null;
        var dryRun = false;
        for (var i = 0; i < rest.Count; i++)
        {
            var name = rest[i];
            if (name == "--dry-run")
            {
                dryRun = true;
                continue;
            }

            if (!name.StartsWith("--", StringComparison.Ordinal))
            {
                if (target is not null)
                {
                    return (null, $"Unexpected argument \"{name}\": give one {(action == "report" ? "certificate" : "breach id")}.");
                }

                target = name;
                continue;
            }

            if (i + 1 >= rest.Count)
            {
                return (null, $"Argument \"{name}\" needs a value.");
            }

            var value = rest[++i];
            switch (name)
            {
                case "--mode":
                    mode = value;
                    break;
                case "--reason":
                    reason = value;
                    break;
                case "--server":
                    server = value;
                    break;
                case "--token":
                    token = value;
                    break;
                case "--timeout":
                    timeout = value;
                    break;
                default:
                    return (null, $"Unknown argument \"{name}\".");
            }
        }

        if (target is null)
        {
            return (null, action == "report" ? "breach needs a certificate, as NAMESPACE/NAME." : $"breach {action} needs a breach id.");
        }

        var breachMode = BreachMode.Rotate;
        var cleanReason = string.Empty;
        if (action == "report")
        {
            if (BreachJson.CheckCertificate(target, out _) is { } certificateError)
            {
                return (null, $"\"{target}\": {certificateError}.");
            }

            if (!BreachJson.TryParseMode(mode, out breachMode))
            {
                return (null, mode is null ? "--mode is required: rotate or quarantine." : $"--mode \"{mode}\" is not rotate or quarantine.");
            }

            if (BreachJson.CheckReason(reason, out cleanReason) is { } reasonError)
            {
                return (null, $"--{reasonError}.");
            }
        }
        else if (mode is not null || reason is not null || dryRun)
        {
            return (null, $"breach {action} takes only --server, --token and --timeout.");
        }
        else if (!BreachJson.TryParseId(target, out _))
        {
            return (null, $"\"{target}\" is not a breach id (NAMESPACE.NAME of the Breach, as POST answered it).");
        }

        server ??= environment("NOTARY_SERVER") is { Length: > 0 } fromEnvironment ? fromEnvironment : DefaultServer;
        if (!Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme is not ("http" or "https"))
        {
            return (null, $"--server \"{server}\" is not an http or https URL.");
        }

        // The token is a Kubernetes credential: in clear only to this machine (kubectl port-forward).
        if (serverUri.Scheme == "http" && !serverUri.IsLoopback)
        {
            return (null, $"--server \"{server}\" is plain http to another host: the bearer token would cross the network in clear. Use https:// (e.g. https://notary.notary.svc:8080 with --ca-file from ConfigMap notary-ca), or kubectl port-forward and http://127.0.0.1:8080.");
        }

        // A base ending in '/' keeps a path prefix (a proxy's /notary/) in front of v1/breaches.
        serverUri = new Uri(serverUri.ToString().TrimEnd('/') + "/");
        token ??= environment("NOTARY_TOKEN");
        if (string.IsNullOrWhiteSpace(token))
        {
            return (null, "A Kubernetes bearer token is required: --token TOKEN or NOTARY_TOKEN, e.g. export NOTARY_TOKEN=$(kubectl create token NAME -n NAMESPACE --audience notary).");
        }

        var followFor = TimeSpan.FromMinutes(10);
        if (timeout is not null && (!GoDuration.TryParse(timeout, out followFor, out _) || followFor <= TimeSpan.Zero))
        {
            return (null, $"--timeout \"{timeout}\" is not a positive duration such as 90s, 10m or 1h.");
        }

        return (new BreachCommandOptions
        {
            Action = action,
            Target = target,
            Mode = breachMode,
            Reason = cleanReason,
            DryRun = dryRun,
            Server = serverUri,
            Token = token.Trim(),
            Timeout = followFor,
        }, null);
    }

    /// <summary>The breach being followed, for the hint printed when following stops early.</summary>
    private string? _followedId;

    public async Task<int> RunAsync(CancellationToken stop)
    {
        using var deadline = new CancellationTokenSource(options.Timeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, deadline.Token);
        try
        {
            return options.Action switch
            {
                "lift" => await LiftAsync(linked.Token),
                "status" => await StatusAsync(linked.Token),
                _ => await ReportAsync(linked.Token),
            };
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            var why = stop.IsCancellationRequested ? "Stopped following" : $"Gave up following after {GoDuration.Format(options.Timeout)}";
            await stderr.WriteLineAsync($"{why}. The breach goes on in Notary; follow it with: breach status {_followedId ?? "ID"}");
            return Failed;
        }
    }

    private async Task<int> ReportAsync(CancellationToken cancellationToken)
    {
        var submission = new BreachSubmission(options.Target, options.Mode, options.Reason, options.DryRun);
        var (report, failure) = await SendAsync(HttpMethod.Post, BreachJson.BasePath, submission, cancellationToken);
        if (report is null)
        {
            return await FailAsync(failure!);
        }

        await PrintImpactAsync(report);
        if (report.Phase == BreachPhase.DryRun || options.DryRun)
        {
            await stdout.WriteLineAsync("Dry run: nothing was changed.");
            return Ok;
        }

        return await FollowAsync(report, cancellationToken);
    }

    private async Task<int> StatusAsync(CancellationToken cancellationToken)
    {
        var (report, failure) = await SendAsync(HttpMethod.Get, $"{BreachJson.BasePath}/{options.Target}", null, cancellationToken);
        if (report is null)
        {
            return await FailAsync(failure!);
        }

        await PrintImpactAsync(report);
        return await FollowAsync(report, cancellationToken);
    }

    private async Task<int> LiftAsync(CancellationToken cancellationToken)
    {
        var (report, failure) = await SendAsync(HttpMethod.Delete, $"{BreachJson.BasePath}/{options.Target}", null, cancellationToken);
        if (report is null)
        {
            return await FailAsync(failure!);
        }

        // The Breach is deleted; its finalizer puts the certificate back (unless another
        // quarantine holds it) before the object goes: it is lifted once GET answers 404.
        await stdout.WriteLineAsync($"Quarantine {Show(report.Id)} of {Show(report.Certificate)} deleted; Notary lifts it before the Breach goes...");
        var polls = 0;
        while (true)
        {
            await Task.Delay(Poll.Delay(polls++), cancellationToken);
            var (still, gone) = await SendAsync(HttpMethod.Get, $"{BreachJson.BasePath}/{report.Id}", null, cancellationToken);
            if (still is null && gone is { NotFound: true })
            {
                await stdout.WriteLineAsync($"Quarantine {Show(report.Id)} lifted.");
                return Ok;
            }

            if (still is null && gone is { Retry: false })
            {
                return await FailAsync(gone);
            }
        }
    }

    private async Task<int> FollowAsync(BreachResource report, CancellationToken cancellationToken)
    {
        _followedId = report.Id;
        await stdout.WriteLineAsync($"Following breach {Show(report.Id)} (up to {GoDuration.Format(options.Timeout)}; Ctrl-C stops following, not the breach)...");
        var polls = 0;
        var last = string.Empty;
        while (!report.Done)
        {
            var progress = $"  {Show(report.Phase)}: {report.Items.Count(i => i.Status is BreachItemStatus.Completed or BreachItemStatus.Failed)}/{report.Items.Count} items finished";
            if (progress != last)
            {
                await stdout.WriteLineAsync(progress);
                last = progress;
            }

            await Task.Delay(Poll.Delay(polls++), cancellationToken);
            var (next, failure) = await SendAsync(HttpMethod.Get, $"{BreachJson.BasePath}/{report.Id}", null, cancellationToken);
            if (next is not null)
            {
                report = next;
            }
            else if (failure!.Retry)
            {
                await stderr.WriteLineAsync($"  {failure.Message} (retrying)");
            }
            else
            {
                return await FailAsync(failure);
            }
        }

        await stdout.WriteLineAsync($"Breach {Show(report.Id)}: {Show(report.Phase)}{(report.Message is { Length: > 0 } m ? " (" + Show(m) + ")" : "")}");
        await PrintItemsAsync(report);
        return report.Phase is BreachPhase.Completed or BreachPhase.Lifted or BreachPhase.DryRun ? Ok : Failed;
    }

    private async Task PrintImpactAsync(BreachResource report)
    {
        var what = report.Phase == BreachPhase.DryRun
            ? $"Dry run: a {BreachJson.Name(report.Mode)} breach of {Show(report.Certificate)} would change {report.Items.Count} items:"
            : $"Breach {Show(report.Id)} ({BreachJson.Name(report.Mode)} of {Show(report.Certificate)}, reported by {Show(report.RequestedBy)}): {Show(report.Phase)}, {report.Items.Count} items:";
        await stdout.WriteLineAsync(what);
        foreach (var group in report.Items.GroupBy(i => i.Kind))
        {
            await stdout.WriteLineAsync($"  {Show(group.Key)} ({group.Count()})");
            foreach (var item in group)
            {
                await stdout.WriteLineAsync($"    {Show(item.Namespace)}/{Show(item.Name)}");
            }
        }
    }

    private async Task PrintItemsAsync(BreachResource report)
    {
        foreach (var item in report.Items)
        {
            var reason = item.Reason is { Length: > 0 } r ? ": " + Show(r) : string.Empty;
            await stdout.WriteLineAsync($"  {Show(item.Kind)} {Show(item.Namespace)}/{Show(item.Name)}: {Show(item.Status)}{reason}");
        }
    }

    private async Task<int> FailAsync(Failure failure)
    {
        await stderr.WriteLineAsync(failure.Message);
        return Failed;
    }

    private async Task<(BreachResource? Report, Failure? Failure)> SendAsync(HttpMethod method, string path, BreachSubmission? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", options.Token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: BreachJson.Options);
        }

        using var perRequest = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        perRequest.CancelAfter(RequestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, perRequest.Token);
        }
        catch (HttpRequestException ex)
        {
            return (null, new Failure($"Could not reach Notary at {options.Server}: {ex.Message}", Retry: true));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, new Failure($"Notary at {options.Server} did not answer within {RequestTimeout.TotalSeconds:0} s", Retry: true));
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    return (JsonSerializer.Deserialize<BreachResource>(text, BreachJson.Options), null);
                }
                catch (JsonException ex)
                {
                    return (null, new Failure($"Notary answered {(int)response.StatusCode} with a body that is not a breach report: {ex.Message}", Retry: false));
                }
            }

            return (null, Describe(response.StatusCode, ErrorOf(text)));
        }
    }

    private static Failure Describe(HttpStatusCode status, string error)
    {
        var code = (int)status;
        return status switch
        {
            HttpStatusCode.Unauthorized => new($"Notary did not accept the token (401): {error}. Use a current Kubernetes token: --token or NOTARY_TOKEN, e.g. $(kubectl create token NAME -n NAMESPACE --audience notary; dev mode: without --audience).", false),
            HttpStatusCode.Forbidden => new($"Not allowed (403): {error}. Reporting a breach needs a Role with verb create on resource breaches in API group notary.dev in the certificate's namespace, reading one get, lifting a quarantine delete.", false),
            HttpStatusCode.NotFound => new($"Not found (404): {error}.", false, NotFound: true),
            HttpStatusCode.Conflict => new($"Refused (409): {error}.", false),
            HttpStatusCode.BadRequest => new($"Notary refused the request (400): {error}.", false),
            _ => new($"Notary answered {code}: {error}.", code >= 500),
        };
    }

    /// <summary>The API's <c>{"error": ...}</c>, else the start of whatever came back.</summary>
    private static string ErrorOf(string text)
    {
        try
        {
            if (JsonSerializer.Deserialize<BreachApiError>(text, BreachJson.Options)?.Error is { Length: > 0 } error)
            {
                return Show(error);
            }
        }
        catch (JsonException)
        {
        }

        return text.Length == 0 ? "no details" : Show(BreachJson.Clean(text, 200));
    }

    /// <summary>Text from the server, made safe for a terminal (no escape sequences).</summary>
    private static string Show(string? text) => BreachJson.Clean(text ?? string.Empty, 1024);

    private sealed record Failure(string Message, bool Retry, bool NotFound = false);
}
