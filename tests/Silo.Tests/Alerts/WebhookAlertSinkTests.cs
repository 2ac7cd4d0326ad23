using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Notary.Grains.Abstractions;
using Notary.Grains.Abstractions.Ports;
using Notary.Silo.Alerts;
using Notary.Silo.Tests.Support;

namespace Notary.Silo.Tests.Alerts;

public sealed class WebhookAlertSinkTests
{
    private static readonly DateTimeOffset At = new(2031, 5, 6, 7, 8, 9, TimeSpan.Zero);

    /// <summary>The signing key of these tests, as the webhook Secret's signingKey would hold it.</summary>
    private const string Key = "0123456789abcdef0123456789abcdef-test-key";

    private static Alert Alert(string name = "api", string reason = "ExpiringSoon") => new()
    {
        Reason = reason,
        Resource = new ResourceKey("shop", name),
        Message = $"Certificate shop/{name} expires in 6 days and could not be renewed.",
        NotAfter = new DateTimeOffset(2031, 5, 12, 9, 0, 0, TimeSpan.FromHours(2)),
        At = At,
        Arn = "urn:notary:builtin:0a1b",
    };

    /// <summary>The sink as the host builds it (AddNotaryAlerts), started; backoffs short unless given.</summary>
    private static async Task<Running> StartAsync(Uri? url, Dictionary<string, string?>? settings = null, TimeProvider? time = null, bool start = true)
    {
        var values = new Dictionary<string, string?>
        {
            ["Notary:Alerts:WebhookUrl"] = url?.ToString(),
            ["Notary:Alerts:InitialBackoff"] = "00:00:00.010",
            ["Notary:Alerts:MaxBackoff"] = "00:00:00.050",
            ["Notary:Alerts:SigningKey"] = Key,
            // The test receivers listen on plain HTTP on 127.0.0.1.
            ["Notary:Alerts:AllowInsecureHttp"] = "true",
        };
        foreach (var (key, value) in settings ?? [])
        {
            values[key] = value;
        }

        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        if (time is not null)
        {
            services.AddSingleton(time);
        }

        services.AddNotaryAlerts(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        var provider = services.BuildServiceProvider();
        var sink = Assert.IsType<WebhookAlertSink>(provider.GetRequiredService<IAlertSink>());
        var running = new Running(provider, sink, logs);
        if (start)
        {
            await sink.StartAsync(CancellationToken.None);
        }

        return running;
    }

    private sealed record Running(ServiceProvider Provider, WebhookAlertSink Sink, CapturingLoggerProvider Logs) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Sink.StopAsync(CancellationToken.None);
            await Provider.DisposeAsync();
        }

        public async Task WaitForLogAsync(int eventId)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            while (!Logs.Lines.Any(l => l.EventId == eventId))
            {
                await Task.Delay(10, timeout.Token);
            }
        }
    }

    /// <summary>One delivery at a time (MaxConcurrentDeliveries 1): alerts arrive in the order they were raised.</summary>
    private static Dictionary<string, string?> InOrder => new() { ["Notary:Alerts:MaxConcurrentDeliveries"] = "1" };

    private static string NameIn(Received request) => JsonDocument.Parse(request.Body).RootElement.GetProperty("name").GetString()!;

    [Fact]
    public async Task An_alert_is_POSTed_as_JSON_with_every_field()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var running = await StartAsync(receiver.Url);

        await running.Sink.SendAsync(Alert(), CancellationToken.None);

        var request = Assert.Single(await receiver.WaitForAsync(1));
        Assert.Equal(("POST", "/hooks/notary", "application/json"), (request.Method, request.Path, request.ContentType));
        using var json = JsonDocument.Parse(request.Body);
        var fields = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.GetString());
        Assert.Equal(new Dictionary<string, string?>
        {
            ["reason"] = "ExpiringSoon",
            ["namespace"] = "shop",
            ["name"] = "api",
            ["message"] = "Certificate shop/api expires in 6 days and could not be renewed.",
            ["notAfter"] = "2031-05-12T07:00:00Z",
            ["at"] = "2031-05-06T07:08:09Z",
            ["arn"] = "urn:notary:builtin:0a1b",
        }, fields);
    }

    [Fact]
    public void Unknown_fields_are_null_not_missing()
    {
        var body = WebhookAlertSink.Serialize(Alert() with { NotAfter = null, Arn = null });

        using var json = JsonDocument.Parse(body);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("notAfter").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("arn").ValueKind);
    }

    [Fact]
    public async Task After_5xx_answers_and_a_dropped_connection_the_alert_is_sent_again_until_delivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 503, WebhookReceiver.Drop, 502);
        await using var running = await StartAsync(receiver.Url);

        await running.Sink.SendAsync(Alert(), CancellationToken.None);

        var requests = await receiver.WaitForAsync(5);
        Assert.Equal([500, 503, WebhookReceiver.Drop, 502, 200], requests.Select(r => r.Answer));
        Assert.Single(requests.Select(r => r.Body).Distinct());
        await running.WaitForLogAsync(4010);
        Assert.Equal(4, running.Logs.Lines.Count(l => l.EventId == 4011));
        Assert.Contains(running.Logs.Lines, l => l.EventId == 4011 && l.Message.Contains("connection error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_4xx_answer_is_not_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync(400);
        await using var running = await StartAsync(receiver.Url, InOrder);

        await running.Sink.SendAsync(Alert("first"), CancellationToken.None);
        await running.Sink.SendAsync(Alert("second"), CancellationToken.None);

        // Delivery is in order, so the second alert comes only once the first is settled: given up, not retried.
        var requests = await receiver.WaitForAsync(2);
        Assert.Equal([("first", 400), ("second", 200)], requests.Select(r => (NameIn(r), r.Answer)));
        Assert.Contains(running.Logs.Lines, l => l.EventId == 4012 && l.Level == LogLevel.Error && l.Message.Contains("400", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_429_is_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync(429);
        await using var running = await StartAsync(receiver.Url);

        await running.Sink.SendAsync(Alert(), CancellationToken.None);

        Assert.Equal([429, 200], (await receiver.WaitForAsync(2)).Select(r => r.Answer));
    }

    [Fact]
    public async Task After_MaxAttempts_the_alert_is_given_up_and_the_next_one_goes()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 500, 500);
        await using var running = await StartAsync(receiver.Url, new() { ["Notary:Alerts:MaxAttempts"] = "3", ["Notary:Alerts:MaxConcurrentDeliveries"] = "1" });

        await running.Sink.SendAsync(Alert("first"), CancellationToken.None);
        await running.Sink.SendAsync(Alert("second"), CancellationToken.None);

        var requests = await receiver.WaitForAsync(4);
        Assert.Equal(["first", "first", "first", "second"], requests.Select(NameIn));
        Assert.Contains(running.Logs.Lines, l => l.EventId == 4013 && l.Message.Contains("after 3 attempts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Alerts_arrive_in_the_order_they_were_sent_retries_included()
    {
        await using var receiver = await WebhookReceiver.StartAsync(200, 500, 200, 503, 500, 200, WebhookReceiver.Drop, 200, 429);
        await using var running = await StartAsync(receiver.Url, InOrder);
        var names = Enumerable.Range(0, 12).Select(i => $"api-{i:00}").ToList();

        foreach (var name in names)
        {
            await running.Sink.SendAsync(Alert(name), CancellationToken.None);
        }

        var requests = await receiver.WaitForAsync(names.Count + 5);
        Assert.Equal(names, requests.Where(r => r.Answer == 200).Select(NameIn));
        Assert.Equal(requests.Select(NameIn).Order(StringComparer.Ordinal), requests.Select(NameIn));
    }

    [Fact]
    public async Task When_the_queue_is_full_the_oldest_alert_is_dropped_and_logged()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var running = await StartAsync(receiver.Url, new() { ["Notary:Alerts:QueueCapacity"] = "2", ["Notary:Alerts:MaxConcurrentDeliveries"] = "1" }, start: false);

        // Not delivering yet: the queue fills up.
        foreach (var name in new[] { "a", "b", "c" })
        {
            await running.Sink.SendAsync(Alert(name), CancellationToken.None);
        }

        await running.Sink.StartAsync(CancellationToken.None);
        Assert.Equal(["b", "c"], (await receiver.WaitForAsync(2)).Select(NameIn));
        await running.Sink.SendAsync(Alert("d"), CancellationToken.None);

        Assert.Equal(["b", "c", "d"], (await receiver.WaitForAsync(3)).Select(NameIn));
        var dropped = Assert.Single(running.Logs.Lines, l => l.EventId == 4014);
        Assert.Contains("shop/a", dropped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pause_between_attempts_runs_on_the_TimeProvider()
    {
        var time = new FakeTimeProvider(At);
        await using var receiver = await WebhookReceiver.StartAsync(500);
        await using var running = await StartAsync(receiver.Url, new() { ["Notary:Alerts:InitialBackoff"] = "00:00:30", ["Notary:Alerts:MaxBackoff"] = "00:02:00" }, time);

        await running.Sink.SendAsync(Alert(), CancellationToken.None);
        await receiver.WaitForAsync(1);
        await running.WaitForLogAsync(4011);

        // The retry is logged before the pause: the sink now waits for 15 to 30 s of the fake clock.
        Assert.Single(receiver.Requests);
        time.Advance(TimeSpan.FromSeconds(14));
        Assert.Single(receiver.Requests);
        time.Advance(TimeSpan.FromSeconds(16));
        Assert.Equal([500, 200], (await receiver.WaitForAsync(2)).Select(r => r.Answer));
    }

    [Fact]
    public async Task The_webhook_URL_never_appears_in_a_log_line()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 404);
        var url = new Uri(receiver.Url, "/hooks/SECRET-PATH-TOKEN?key=SECRET-QUERY-TOKEN");
        await using var running = await StartAsync(url);

        await running.Sink.SendAsync(Alert(), CancellationToken.None);
        await receiver.WaitForAsync(2);
        await running.WaitForLogAsync(4012);

        Assert.Contains(running.Logs.Lines, l => l.EventId == 4017 && l.Message.Contains("127.0.0.1", StringComparison.Ordinal));
        Assert.DoesNotContain(running.Logs.Lines, l => l.Message.Contains("SECRET", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Without_a_URL_the_sink_does_nothing()
    {
        var factory = new UnusableHttpClientFactory();
        using var sink = new WebhookAlertSink(factory, Options.Create(new NotaryAlertOptions()), TimeProvider.System, NullLogger<WebhookAlertSink>.Instance);

        await sink.StartAsync(CancellationToken.None);
        await sink.SendAsync(Alert(), CancellationToken.None);

        Assert.False(sink.Enabled);
        await sink.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(sink.ExecuteTask.IsCompletedSuccessfully);
        Assert.Equal(0, factory.Created);
        await sink.StopAsync(CancellationToken.None);

        // And that is what the host registers when Notary:Alerts:WebhookUrl is unset.
        await using var running = await StartAsync(url: null);
        Assert.False(running.Sink.Enabled);
    }

    [Fact]
    public void Backoff_doubles_from_the_initial_pause_up_to_the_cap_with_the_upper_half_random()
    {
        var initial = TimeSpan.FromSeconds(1);
        var max = TimeSpan.FromMinutes(2);
        Assert.Equal(TimeSpan.FromMilliseconds(500), WebhookAlertSink.Backoff(1, initial, max, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), WebhookAlertSink.Backoff(1, initial, max, 1));
        Assert.Equal(TimeSpan.FromSeconds(1), WebhookAlertSink.Backoff(2, initial, max, 0));
        Assert.Equal(TimeSpan.FromSeconds(3), WebhookAlertSink.Backoff(3, initial, max, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(60), WebhookAlertSink.Backoff(8, initial, max, 0));
        Assert.Equal(max, WebhookAlertSink.Backoff(100, initial, max, 1));
        for (var attempt = 1; attempt < 40; attempt++)
        {
            Assert.InRange(WebhookAlertSink.Backoff(attempt, initial, max, 0.999), TimeSpan.Zero, max);
        }
    }

    public static TheoryData<string, string?, string> BadOptions => new()
    {
        { "WebhookUrl", "ftp://alerts.example.com/SECRET", "WebhookUrl is not an absolute http:// or https:// URL" },
        { "WebhookUrl", "/relative/SECRET", "WebhookUrl is not an absolute" },
        { "QueueCapacity", "0", "QueueCapacity 0 must be between 1 and 100000" },
        { "MaxAttempts", "0", "MaxAttempts 0 must be between 1" },
        { "InitialBackoff", "00:05:00", "InitialBackoff" },
        { "MaxBackoff", "02:00:00", "MaxBackoff 02:00:00 must be positive and at most one hour" },
        { "RequestTimeout", "00:00:00", "RequestTimeout" },
        { "MaxConcurrentDeliveries", "0", "MaxConcurrentDeliveries 0 must be between 1" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_refused_with_a_message_that_says_how_to_fix_them_and_never_echoes_the_URL(string key, string? value, string mentions)
    {
        var options = new NotaryAlertOptions();
        new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build().Bind(options);

        var result = new NotaryAlertOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        var failure = Assert.Single(result.Failures!);
        Assert.Contains(mentions, failure, StringComparison.Ordinal);
        Assert.StartsWith("Notary:Alerts:", failure, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_options_are_valid() =>
        Assert.True(new NotaryAlertOptionsValidator().Validate(null, new NotaryAlertOptions()).Succeeded);

    [Fact]
    public async Task Each_alert_is_signed_and_the_receiver_verifies_the_signature_with_the_key()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var running = await StartAsync(receiver.Url);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await running.Sink.SendAsync(Alert(), CancellationToken.None);

        var request = Assert.Single(await receiver.WaitForAsync(1));
        // What a receiver does (README "Webhook alerts"): HMAC-SHA256 of "TIMESTAMP.DELIVERY.BODY" with the key.
        var timestamp = request.Headers["X-Notary-Timestamp"];
        var delivery = request.Headers["X-Notary-Delivery"];
        Assert.Matches("^[0-9a-f]{32}$", delivery);
        Assert.InRange(long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture), before - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var expected = Mac(Key, timestamp, delivery, request.RawBody);
        Assert.Equal(expected, request.Headers["X-Notary-Signature"]);
        Assert.True(System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(expected), System.Text.Encoding.ASCII.GetBytes(request.Headers["X-Notary-Signature"])));

        // Another key, the same body under another timestamp, or under another delivery id, does not verify.
        Assert.NotEqual(Mac("another key of at least 32 characters", timestamp, delivery, request.RawBody), request.Headers["X-Notary-Signature"]);
        Assert.NotEqual(Mac(Key, timestamp, WebhookSignature.NewDeliveryId(), request.RawBody), request.Headers["X-Notary-Signature"]);
        Assert.NotEqual(Mac(Key, (long.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), delivery, request.RawBody), request.Headers["X-Notary-Signature"]);
        Assert.DoesNotContain(running.Logs.Lines, l => l.Message.Contains(Key, StringComparison.Ordinal));
    }

    [Fact]
    public void The_signature_is_the_documented_HMAC_a_known_value_computed_with_Python()
    {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"0123456789abcdef0123456789abcdef-test-key",
        //   b"1935817689.0123456789abcdef0123456789abcdef." + b"{\"reason\":\"ExpiringSoon\"}", hashlib.sha256).hexdigest())'
        var (timestamp, signature) = WebhookSignature.Sign(Key, "0123456789abcdef0123456789abcdef", "{\"reason\":\"ExpiringSoon\"}"u8, At);

        Assert.Equal("1935817689", timestamp);
        Assert.Equal("sha256=be4875d0143a9f3ecdf415d1092ab7c93bbf332779c692532520fb8b56f52664", signature);
    }

    [Fact]
    public void A_delivery_id_with_a_dot_is_refused_as_it_would_make_the_signed_text_ambiguous() =>
        Assert.Throws<ArgumentException>(() => WebhookSignature.Sign(Key, "a.b", "{}"u8, At));

    [Fact]
    public async Task Every_retry_of_one_alert_carries_its_delivery_id_and_another_alert_has_another()
    {
        await using var receiver = await WebhookReceiver.StartAsync(500, 429);
        await using var running = await StartAsync(receiver.Url, InOrder);

        await running.Sink.SendAsync(Alert("first"), CancellationToken.None);
        await running.Sink.SendAsync(Alert("second"), CancellationToken.None);

        var requests = await receiver.WaitForAsync(4);
        Assert.Equal([("first", 500), ("first", 429), ("first", 200), ("second", 200)], requests.Select(r => (NameIn(r), r.Answer)));
        var ids = requests.Select(r => r.Headers["X-Notary-Delivery"]).ToList();
        Assert.Equal(ids[0], ids[1]);
        Assert.Equal(ids[0], ids[2]);
        Assert.NotEqual(ids[0], ids[3]);
        // Each attempt verifies under its own timestamp and the shared id.
        Assert.All(requests, r => Assert.Equal(Mac(Key, r.Headers["X-Notary-Timestamp"], r.Headers["X-Notary-Delivery"], r.RawBody), r.Headers["X-Notary-Signature"]));
    }

    private static string Mac(string key, string timestamp, string delivery, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.ASCII.GetBytes(timestamp + "." + delivery + ".").Concat(body).ToArray()));

    [Fact]
    public async Task A_hanging_receiver_for_one_alert_does_not_delay_the_next()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.AnswerFor = body => body.Contains("\"name\":\"stuck\"", StringComparison.Ordinal) ? WebhookReceiver.Hang : null;
        // The stuck delivery would hold the next one for a minute if deliveries were not independent.
        await using var running = await StartAsync(receiver.Url, new() { ["Notary:Alerts:RequestTimeout"] = "00:01:00" });

        await running.Sink.SendAsync(Alert("stuck"), CancellationToken.None);
        await receiver.WaitForAsync(r => NameIn(r) == "stuck", TimeSpan.FromSeconds(15));
        await running.Sink.SendAsync(Alert("next"), CancellationToken.None);

        await receiver.WaitForAsync(r => NameIn(r) == "next", TimeSpan.FromSeconds(15));
        await running.WaitForLogAsync(4010);
        var delivered = Assert.Single(running.Logs.Lines, l => l.EventId == 4010);
        Assert.Contains("shop/next", delivered.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, string> RefusedWebhooks => new()
    {
        { "http://alerts.example.com/SECRET", Key, "WebhookUrl is http://, which shows every alert to the network: use https://, or set Notary:Alerts:AllowInsecureHttp=true" },
        { "https://alerts.example.com/SECRET", "", "Notary:Alerts:SigningKey must be set, at least 32 characters" },
        { "https://alerts.example.com/SECRET", "short", "Notary:Alerts:SigningKey must be set" },
    };

    [Theory]
    [MemberData(nameof(RefusedWebhooks))]
    public async Task An_http_webhook_or_one_without_a_signing_key_stops_the_start_saying_how_to_fix_it(string url, string key, string mentions)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Notary:Alerts:WebhookUrl"] = url, ["Notary:Alerts:SigningKey"] = key });
        builder.Services.AddNotaryAlerts(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        var failure = Assert.Single(error.Failures);
        Assert.Contains(mentions, failure, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", failure, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, failure, StringComparison.Ordinal);
    }

    [Fact]
    public void An_http_webhook_is_accepted_when_AllowInsecureHttp_says_so() =>
        Assert.True(new NotaryAlertOptionsValidator().Validate(null, new NotaryAlertOptions
        {
            WebhookUrl = "http://alerts.svc/notary",
            AllowInsecureHttp = true,
            SigningKey = Key,
        }).Succeeded);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task The_READMEs_Python_verification_accepts_a_delivered_alert_and_refuses_a_tampered_one()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var running = await StartAsync(receiver.Url);
        await running.Sink.SendAsync(Alert(), CancellationToken.None);
        var request = Assert.Single(await receiver.WaitForAsync(1));

        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var section = readme[readme.IndexOf("### Webhook alerts", StringComparison.Ordinal)..];
        var start = section.IndexOf("```python", StringComparison.Ordinal) + "```python".Length;
        var snippet = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];
        var directory = Directory.CreateTempSubdirectory("notary-webhook-verify-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "snippet.py"), snippet);
            File.WriteAllBytes(Path.Combine(directory, "body"), request.RawBody);
            File.WriteAllBytes(Path.Combine(directory, "tampered"), [.. request.RawBody.Take(request.RawBody.Length - 2), (byte)' ', (byte)'}']);
            // Verifies, then asks first_time twice: a second arrival of one delivery id (a replay
            // within the timestamp window, or a retry already handled) is recognised.
            File.WriteAllText(Path.Combine(directory, "run.py"), """
                import sys, textwrap
                exec(textwrap.dedent(open(sys.argv[1]).read()))
                ok = authentic(sys.argv[2].encode(), sys.argv[3], sys.argv[4], sys.argv[5], open(sys.argv[6], "rb").read())
                print(ok, ok and first_time(sys.argv[4]), ok and first_time(sys.argv[4]))
                """);

            var (ts, id, signature) = (request.Headers["X-Notary-Timestamp"], request.Headers["X-Notary-Delivery"], request.Headers["X-Notary-Signature"]);
            Assert.Equal("True True False", await PythonAsync(directory, Key, ts, id, signature, "body"));
            Assert.Equal("False False False", await PythonAsync(directory, Key, ts, id, signature, "tampered"));
            Assert.Equal("False False False", await PythonAsync(directory, "another key of at least 32 characters", ts, id, signature, "body"));
            Assert.Equal("False False False", await PythonAsync(directory, Key, ts, WebhookSignature.NewDeliveryId(), signature, "body"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<string> PythonAsync(string directory, string key, string timestamp, string delivery, string signature, string bodyFile)
    {
        var start = new System.Diagnostics.ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (var argument in new[] { "run.py", "snippet.py", key, timestamp, delivery, signature, bodyFile })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, error);
        return output.Trim();
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Notary.Actors.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Notary.Actors.sln not found above " + AppContext.BaseDirectory);
    }

    private sealed class UnusableHttpClientFactory : IHttpClientFactory
    {
        public int Created { get; private set; }

        public HttpClient CreateClient(string name)
        {
            Created++;
            throw new InvalidOperationException("The sink must not post without a URL.");
        }
    }
}
