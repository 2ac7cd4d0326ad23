using System.Text.Json;
using Notary.Api.Contracts;
using Notary.Grains.Abstractions;
using Notary.Silo;

namespace Notary.EndToEnd.Tests;

/// <summary>
/// The breach API over HTTP on the dev host, with real Kubernetes tokens (TokenRequest) checked
/// by DevCluster's TokenReview and RBAC (SubjectAccessReview), and the fake breach service.
/// </summary>
[Collection(BreachCollection.Name)]
[Trait("Category", "Slow")]
public sealed class BreachApiTests(BreachFixture fx)
{
    private static object Body(string certificate, string mode = "rotate", string reason = "key found in a public repository", bool dryRun = false) =>
        new { certificate, mode, reason, dryRun };

    [Fact]
    public async Task Without_a_valid_token_every_route_is_401_with_a_Bearer_challenge_and_nothing_starts()
    {
        var before = fx.Breaches.Requests.Count;
        var id = BreachIds.For(new ResourceKey("shop", "web-1234abcd"));
        var body = JsonSerializer.Serialize(Body("shop/web"));
        var answers = new List<ApiAnswer>();
        foreach (var (method, path) in new[] { (HttpMethod.Post, BreachApiEndpoints.BasePath), (HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}"), (HttpMethod.Delete, $"{BreachApiEndpoints.BasePath}/{id}") })
        {
            var content = method == HttpMethod.Post ? body : null;
            answers.Add(await fx.CallAsync(method, path, token: null, content));
            answers.Add(await fx.CallAsync(method, path, token: "garbage", content));
            answers.Add(await fx.CallAsync(method, path, token: null, content, authorization: "Basic " + Convert.ToBase64String("admin:admin"u8.ToArray())));
            answers.Add(await fx.CallAsync(method, path, token: null, content, authorization: "Bearer "));
        }

        Assert.All(answers, a =>
        {
            Assert.Equal(401, a.Status);
            Assert.StartsWith("Bearer", a.Challenge, StringComparison.Ordinal);
            Assert.Equal("application/json", a.MediaType);
            Assert.Contains("token", a.Error, StringComparison.Ordinal);
        });
        Assert.Contains("invalid_token", answers[1].Challenge, StringComparison.Ordinal);
        Assert.Equal(before, fx.Breaches.Requests.Count);
    }

    [Theory]
    [InlineData("not json", "not JSON")]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("""{"mode":"rotate","reason":"r"}""", "certificate is required")]
    [InlineData("""{"certificate":"web","mode":"rotate","reason":"r"}""", "certificate must be NAMESPACE/NAME")]
    [InlineData("""{"certificate":"Shop/web","mode":"rotate","reason":"r"}""", "certificate: the namespace")]
    [InlineData("""{"certificate":"shop/web_1","mode":"rotate","reason":"r"}""", "certificate: the name")]
    [InlineData("""{"certificate":42,"mode":"rotate","reason":"r"}""", "certificate must be a string")]
    [InlineData("""{"certificate":"shop/web","reason":"r"}""", "mode is required")]
    [InlineData("""{"certificate":"shop/web","mode":"revoke","reason":"r"}""", "mode must be \"rotate\" or \"quarantine\"")]
    [InlineData("""{"certificate":"shop/web","mode":"rotate"}""", "reason is required")]
    [InlineData("""{"certificate":"shop/web","mode":"rotate","reason":" \n\t "}""", "reason is required")]
    [InlineData("""{"certificate":"shop/web","mode":"rotate","reason":"r","dryRun":"yes"}""", "dryRun must be true or false")]
    [InlineData("""{"certificate":"shop/web","mode":"rotate","reason":"r","dryrun":true}""", "unknown field \"dryrun\"")]
    public async Task Invalid_bodies_are_400_naming_the_field(string body, string expected)
    {
        var before = fx.Breaches.Requests.Count;

        var answer = await fx.CallAsync(HttpMethod.Post, BreachApiEndpoints.BasePath, fx.AdminToken, body);

        Assert.True(answer.Status == 400, answer.ToString());
        Assert.Contains(expected, answer.Error, StringComparison.Ordinal);
        Assert.Equal(before, fx.Breaches.Requests.Count);
    }

    [Fact]
    public async Task A_reason_over_1024_characters_is_400_and_1024_is_accepted()
    {
        var ns = await fx.NamespaceAsync();
        var tooLong = await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", reason: new string('x', 1025), dryRun: true));
        Assert.Equal(400, tooLong.Status);
        Assert.Contains("reason is longer than 1024", tooLong.Error, StringComparison.Ordinal);

        var longest = await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", reason: new string('x', 1024), dryRun: true));
        Assert.True(longest.Status == 200, longest.ToString());
        // The Event carries a capped copy: a note for people, not a dump.
        var recorded = Assert.Single(await fx.EventsAsync(ns, "web"), e => e.Reason == "BreachDryRun").Message;
        Assert.EndsWith(new string('x', 100) + "…", recorded, StringComparison.Ordinal);
        Assert.True(recorded.Length < 700, $"{recorded.Length} characters");

        var huge = await fx.CallAsync(HttpMethod.Post, BreachApiEndpoints.BasePath, fx.AdminToken, new string(' ', BreachApi.MaxBodyBytes + 1));
        Assert.Equal(413, huge.Status);
    }

    [Fact]
    public async Task Without_create_on_breaches_in_the_certificates_namespace_it_is_403_and_nothing_starts()
    {
        var ns = await fx.NamespaceAsync();
        var other = await fx.NamespaceAsync();
        var (noRole, noRoleUser) = await fx.ServiceAccountAsync(ns, "bystander");
        var (elsewhere, _) = await fx.ServiceAccountAsync(other, "oncall", "create");
        var (createOnly, _) = await fx.ServiceAccountAsync(ns, "reporter", "create");
        var before = fx.Breaches.Requests.Count;

        var denied = await fx.PostAsync(noRole, Body($"{ns}/web"));
        var wrongNamespace = await fx.PostAsync(elsewhere, Body($"{ns}/web"));
        var dryRunToo = await fx.PostAsync(noRole, Body($"{ns}/web", dryRun: true));

        Assert.Equal((403, 403, 403), (denied.Status, wrongNamespace.Status, dryRunToo.Status));
        Assert.Contains($"{noRoleUser} may not create breaches.notary.dev in namespace {ns}", denied.Error, StringComparison.Ordinal);
        Assert.Equal(before, fx.Breaches.Requests.Count);

        // Reading needs get in the breach's namespace (create is not enough); lifting needs delete.
        var accepted = await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", mode: "quarantine"));
        Assert.Equal(202, accepted.Status);
        var id = accepted.Json.GetProperty("id").GetString();
        var (reader, _) = await fx.ServiceAccountAsync(ns, "reader", "get");
        Assert.Equal(403, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}", noRole)).Status);
        Assert.Equal(403, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}", elsewhere)).Status);
        var createOnlyRead = await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}", createOnly);
        Assert.Equal(403, createOnlyRead.Status);
        Assert.Contains("may not get breaches.notary.dev", createOnlyRead.Error, StringComparison.Ordinal);
        Assert.Equal(200, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}", reader)).Status);
        var lift = await fx.CallAsync(HttpMethod.Delete, $"{BreachApiEndpoints.BasePath}/{id}", createOnly);
        Assert.Equal(403, lift.Status);
        Assert.Contains("may not delete breaches.notary.dev", lift.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_caller_without_get_gets_the_same_answer_for_an_existing_and_a_missing_breach()
    {
        var ns = await fx.NamespaceAsync();
        var (createOnly, _) = await fx.ServiceAccountAsync(ns, "reporter", "create");
        var accepted = await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", mode: "quarantine"));
        Assert.Equal(202, accepted.Status);
        var existing = accepted.Json.GetProperty("id").GetString()!;
        var missing = $"{ns}.web-00000000";

        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            var there = await fx.CallAsync(method, $"{BreachApiEndpoints.BasePath}/{existing}", createOnly);
            var absent = await fx.CallAsync(method, $"{BreachApiEndpoints.BasePath}/{missing}", createOnly);
            Assert.Equal((403, 403), (there.Status, absent.Status));
            Assert.Equal(there.Error, absent.Error);
        }

        // With the verb, the difference shows.
        Assert.Equal(200, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{existing}", fx.AdminToken)).Status);
        Assert.Equal(404, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{missing}", fx.AdminToken)).Status);
    }

    [Fact]
    public async Task A_quarantine_is_202_with_a_Location_GET_follows_it_DELETE_lifts_it_and_Events_record_both()
    {
        var ns = await fx.NamespaceAsync();
        await fx.CertificateAsync(ns, "web");
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall", "create", "get", "delete");

        var accepted = await fx.PostAsync(token, Body($"{ns}/web", mode: "quarantine", reason: "  private key\nleaked in a \u001b[31mpaste\u001b[0m \u202Egnp.exe  "));

        Assert.True(accepted.Status == 202, accepted.ToString());
        var report = accepted.Json;
        var id = report.GetProperty("id").GetString()!;
        Assert.True(BreachJson.TryParseId(id, out var key));
        Assert.Equal(ns, key.Namespace);
        Assert.Equal($"{BreachApiEndpoints.BasePath}/{id}", accepted.Location);
        Assert.Equal(($"{ns}/web", "quarantine", "InProgress", user, false), (report.GetProperty("certificate").GetString(), report.GetProperty("mode").GetString(),
            report.GetProperty("phase").GetString(), report.GetProperty("requestedBy").GetString(), report.GetProperty("done").GetBoolean()));
        Assert.Equal("private key leaked in a [31mpaste [0m gnp.exe", report.GetProperty("reason").GetString());
        var request = fx.Breaches.Requests.Last();
        Assert.Equal((new ResourceKey(ns, "web"), BreachMode.Quarantine, false, user), (request.Certificate, request.Mode, request.DryRun, request.RequestedBy));
        Assert.Equal(3, report.GetProperty("items").GetArrayLength());
        var item = report.GetProperty("items")[0];
        Assert.Equal(("Truststore", ns, "clients", "Pending"), (item.GetProperty("kind").GetString(), item.GetProperty("namespace").GetString(), item.GetProperty("name").GetString(), item.GetProperty("status").GetString()));

        // The same report again is a new breach (a new Breach object).
        var again = await fx.PostAsync(token, Body($"{ns}/web", mode: "quarantine", reason: "private key leaked in a \u001b[31mpaste\u001b[0m \u202Egnp.exe"));
        Assert.Equal(202, again.Status);
        Assert.NotEqual(id, again.Json.GetProperty("id").GetString());

        var progress = await fx.FollowAsync(accepted.Location!, token);
        Assert.Equal("Completed", progress.Json.GetProperty("phase").GetString());
        Assert.All(progress.Json.GetProperty("items").EnumerateArray(), i => Assert.Equal("Completed", i.GetProperty("status").GetString()));

        var lifted = await fx.CallAsync(HttpMethod.Delete, accepted.Location!, token);
        Assert.True(lifted.Status == 202, lifted.ToString());
        Assert.Equal(404, (await fx.CallAsync(HttpMethod.Get, accepted.Location!, token)).Status);

        var events = await fx.EventsAsync(ns, "web");
        var reported = events.First(e => e.Reason == "BreachReported");
        Assert.Equal("Warning", reported.Type);
        Assert.Contains(user, reported.Message, StringComparison.Ordinal);
        Assert.Contains("quarantine", reported.Message, StringComparison.Ordinal);
        Assert.Contains("private key leaked in a [31mpaste [0m gnp.exe", reported.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(reported.Message, c => char.IsControl(c) || c == '\u202E');
        var lift = Assert.Single(events, e => e.Reason == "QuarantineLiftRequested");
        Assert.Equal("Normal", lift.Type);
        Assert.Contains(user, lift.Message, StringComparison.Ordinal);
        Assert.Contains(id, lift.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dry_run_is_200_with_the_impact_keeps_nothing_and_records_a_Normal_event()
    {
        var ns = await fx.NamespaceAsync();
        await fx.CertificateAsync(ns, "web");
        var (token, user) = await fx.ServiceAccountAsync(ns, "oncall", "create");

        var answer = await fx.PostAsync(token, Body($"{ns}/web", reason: "what would change?", dryRun: true));

        Assert.True(answer.Status == 200, answer.ToString());
        Assert.Null(answer.Location);
        Assert.Equal(("DryRun", true), (answer.Json.GetProperty("phase").GetString(), answer.Json.GetProperty("done").GetBoolean()));
        Assert.Equal(["Certificate", "Keystore", "Truststore", "Truststore", "Deployment"],
            answer.Json.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("kind").GetString()!));
        Assert.True(fx.Breaches.Requests.Last().DryRun);
        var id = answer.Json.GetProperty("id").GetString();
        Assert.Equal(404, (await fx.CallAsync(HttpMethod.Get, $"{BreachApiEndpoints.BasePath}/{id}", fx.AdminToken)).Status);
        var dryRun = Assert.Single(await fx.EventsAsync(ns, "web"), e => e.Reason == "BreachDryRun");
        Assert.Equal("Normal", dryRun.Type);
        Assert.Contains(user, dryRun.Message, StringComparison.Ordinal);
        Assert.Contains("rotate", dryRun.Message, StringComparison.Ordinal);
        Assert.Contains("what would change?", dryRun.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Lifting_a_rotation_is_409_and_unknown_ids_are_404()
    {
        var ns = await fx.NamespaceAsync();
        var rotation = await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", mode: "rotate"));
        Assert.Equal(202, rotation.Status);

        var conflict = await fx.CallAsync(HttpMethod.Delete, rotation.Location!, fx.AdminToken);
        Assert.Equal(409, conflict.Status);
        Assert.Contains("only a quarantine can be lifted", conflict.Error, StringComparison.Ordinal);

        var unknown = BreachIds.For(new ResourceKey(ns, "nothing"));
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            Assert.Equal(404, (await fx.CallAsync(method, $"{BreachApiEndpoints.BasePath}/{unknown}", fx.AdminToken)).Status);
            Assert.Equal(404, (await fx.CallAsync(method, $"{BreachApiEndpoints.BasePath}/not-an-id", fx.AdminToken)).Status);
        }
    }

    [Fact]
    public async Task Every_call_is_logged_with_who_what_and_outcome_and_no_token_reaches_a_log_line()
    {
        var ns = await fx.NamespaceAsync();
        var (token, user) = await fx.ServiceAccountAsync(ns, "auditor");
        await fx.PostAsync(token, Body($"{ns}/web"));
        await fx.PostAsync("garbage-token-value", Body($"{ns}/web"));
        await fx.PostAsync(fx.AdminToken, Body($"{ns}/web", reason: "logged\nreason", dryRun: true));

        var lines = fx.Logs.Lines.Where(l => l.Category == typeof(BreachApi).FullName).Select(l => l.Message).ToList();
        Assert.Contains(lines, l => l.Contains($"report {ns}/web by {user}: 403 forbidden", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("401 unauthenticated: invalid token", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"dry-run {ns}/web by kubernetes-admin: 200", StringComparison.Ordinal) && l.Contains("reason: logged reason", StringComparison.Ordinal));
        foreach (var secret in fx.Tokens.Append("garbage-token-value"))
        {
            Assert.DoesNotContain(fx.Logs.Lines, l => l.Message.Contains(secret, StringComparison.Ordinal));
        }
    }
}
