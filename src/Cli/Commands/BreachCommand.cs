using System.CommandLine;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Notary.Api.Contracts;
using Notary.Grains.Abstractions;
using Notary.Pki;

namespace Notary.Cli.Commands;

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

    /// <summary>Following a breach polls after 250 ms, doubling up to every 5 s.</summary>
    private static readonly Grains.Abstractions.Retry.ExponentialBackoff Poll = new(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    /// <summary><c>kubectl notary breach report|status|lift</c>.</summary>
    public static Command Create()
    {
        var breach = new Command("breach", """
            Reports a compromised certificate to a running Notary (POST /v1/breaches on its HTTP API),
            prints the keystores, truststores and workloads it changes, and follows it until it
            finishes; "status ID" follows an earlier one; "lift ID" lifts a quarantine.
            Exit code 0 when the breach completed (or a dry run, or a lift), 1 when it failed or
            Notary refused, 2 for bad arguments.
            """);
        breach.Subcommands.Add(Subcommand("report", "Reports a breach of a certificate, prints its impact and follows it.", "NAMESPACE/NAME", "The compromised Certificate, as NAMESPACE/NAME."));
        breach.Subcommands.Add(Subcommand("status", "Follows an earlier breach until it finishes.", "ID", "The breach id (NAMESPACE.NAME of the Breach, as report printed it)."));
        breach.Subcommands.Add(Subcommand("lift", "Lifts a quarantine (deletes its Breach) and waits until Notary has put the certificate back.", "ID", "The quarantine's breach id."));
        return breach;
    }

    private static Command Subcommand(string action, string description, string argumentName, string argumentDescription)
    {
        var command = new Command(action, description);
        var target = new Argument<string>(argumentName) { Description = argumentDescription };
        command.Arguments.Add(target);
        Option<string?>? mode = null, reason = null;
        Option<bool>? dryRun = null;
        if (action == "report")
        {
            mode = new Option<string?>("--mode") { Description = "rotate (re-key, re-issue, rebuild, restart) or quarantine (take it out of every truststore until lifted)." };
            reason = new Option<string?>("--reason") { Description = "What happened (at most 1024 characters; shown in Events)." };
            dryRun = new Option<bool>("--dry-run") { Description = "Only print the impact; nothing changes." };
            command.Options.Add(mode);
            command.Options.Add(reason);
            command.Options.Add(dryRun);
        }

        var server = new Option<string?>("--server") { Description = "Notary's HTTP API (default NOTARY_SERVER, else http://127.0.0.1:8080, e.g. through kubectl port-forward); https:// for any other host (a token is never sent in clear off this machine)." };
        var token = new Option<string?>("--token") { Description = "A Kubernetes bearer token (default NOTARY_TOKEN, which keeps it out of the process list) made for Notary alone, e.g. $(kubectl create token NAME -n NAMESPACE --audience notary); it needs create on breaches.notary.dev in the certificate's namespace (get to follow, delete to lift)." };
        var caFile = new Option<string?>("--ca-file") { Description = CliTls.Help };
        command.Options.Add(server);
        command.Options.Add(token);
        command.Options.Add(caFile);
        Option<string?>? timeout = null;
        if (action != "lift")
        {
            timeout = new Option<string?>("--timeout") { Description = "How long to follow, a Go duration (default 10m)." };
            command.Options.Add(timeout);
        }

        command.SetAction(async (parsed, cancellationToken) =>
        {
            var (ca, caError) = CliTls.ResolveCaFile(parsed.GetValue(caFile), Environment.GetEnvironmentVariable);
            var (options, error) = caError is not null ? (null, caError) : Validate(
                new BreachArguments(action, parsed.GetValue(target), mode is null ? null : parsed.GetValue(mode), reason is null ? null : parsed.GetValue(reason), dryRun is not null && parsed.GetValue(dryRun), parsed.GetValue(server), parsed.GetValue(token), timeout is null ? null : parsed.GetValue(timeout)),
                Environment.GetEnvironmentVariable);
            if (options is null)
            {
                await Console.Error.WriteLineAsync($"error: {error}\nSee 'kubectl notary breach {action} --help' for usage.");
                return BadArguments;
            }

            using var http = new HttpClient(CliTls.Handler(ca)) { BaseAddress = options.Server, Timeout = Timeout.InfiniteTimeSpan };
            return await new BreachCommand(http, options, Console.Out, Console.Error).RunAsync(cancellationToken);
        });
        return command;
    }

    /// <summary>The breach command's values as given (null: not given), before <see cref="Validate"/>.</summary>
    public sealed record BreachArguments(string Action, string? Target, string? Mode, string? Reason, bool DryRun, string? Server, string? Token, string? Timeout);

    /// <summary>Checks the values of <c>breach ACTION</c> and fills in the defaults, or says which one is wrong.</summary>
    public static (BreachCommandOptions? Options, string? Error) Validate(BreachArguments arguments, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        ArgumentNullException.ThrowIfNull(environment);
        var (action, target, mode, reason, dryRun, server, token, timeout) = arguments;
        if (string.IsNullOrEmpty(target))
        {
            return (null, action == "report" ? "breach report needs a certificate, as NAMESPACE/NAME." : $"breach {action} needs a breach id.");
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
            await stderr.WriteLineAsync($"{why}. The breach goes on in Notary; follow it with: kubectl notary breach status {_followedId ?? "ID"}");
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
