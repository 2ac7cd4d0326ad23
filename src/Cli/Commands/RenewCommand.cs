using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Notary.Cli.Kube;
using Notary.CustomResources.Models;
using Notary.Grains.Abstractions;

namespace Notary.Cli.Commands;

/// <summary>
/// <c>kubectl notary renew NAME... | --all | -l SELECTOR</c>: asks Notary to re-issue now, as
/// cmctl renew does, through the API server: it sets the annotation notary.dev/renew to a new
/// token (the time) on each Certificate; the watcher forwards the new value although the
/// generation stays, and the certificate is renewed make-before-break (README "Renew now").
/// Needs <c>patch</c> on certificates.notary.dev. One line per certificate; exit 1 when any
/// certificate could not be annotated (missing, forbidden): each failure is named and the others
/// are still renewed. <c>--pace MS</c> spaces the annotations of a large selection.
/// </summary>
public static class RenewCommand
{
    public static Command Create()
    {
        var command = new Command("renew", """
            Asks Notary to re-issue certificates now (annotation notary.dev/renew), with the same
            make-before-break order as a renewal: the new certificate reaches every dependent
            truststore before the service's keystore switches to it. The Certificate's
            status.lastManualRenewal and its Events (RenewRequested, Renewed) show the outcome.
            Needs patch on certificates.notary.dev. With --all every certificate is annotated at
            once and Notary re-issues them as fast as its normal limits allow (each a CA request
            and a keystore switch): --pace MS spaces the annotations. A certificate renewed less
            than Rotation:MinManualRenewInterval (5 min) ago answers TooSoon; one rolling out
            already counts the request as done. A failure (NotFound, Forbidden) is printed naming
            the certificate, the others still go ahead, and the exit code is 1.
            """);
        var names = new Argument<string[]>("NAME") { Description = "Certificates to renew (in -n NAMESPACE).", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every Certificate in the namespace (with -A: in every namespace)." };
        var selector = KubeOptions.Selector();
        var allNamespaces = KubeOptions.AllNamespaces();
        var paceOption = new Option<int>("--pace")
        {
            Description = "Milliseconds to wait between two certificates' annotations (default 0: all at once; Notary then paces the re-issues only by its normal limits).",
            DefaultValueFactory = _ => 0,
        };
        command.Arguments.Add(names);
        command.Options.Add(paceOption);
        command.Options.Add(all);
        command.Options.Add(selector);
        command.Options.Add(allNamespaces);
        command.Validators.Add(result =>
        {
            var given = result.GetValue(names) ?? [];
            var bySelection = result.GetValue(all) || !string.IsNullOrEmpty(result.GetValue(selector));
            if (given.Length == 0 && !bySelection)
            {
                result.AddError("renew needs certificate names, --all or -l SELECTOR.");
            }
            else if (given.Length > 0 && bySelection)
            {
                result.AddError("renew takes either certificate names or --all / -l SELECTOR, not both.");
            }
            else if (result.GetValue(paceOption) is < 0 or > 600_000)
            {
                result.AddError("--pace is milliseconds between 0 and 600000, e.g. --pace 2000.");
            }
            else if (given.Length > 0 && result.GetValue(allNamespaces))
            {
                result.AddError("-A selects with --all or -l; name certificates with -n NAMESPACE.");
            }
        });

        CliAction.Set(command, async (parsed, cancellationToken) =>
        {
            using var kube = KubeConnection.Open(parsed);
            var pace = parsed.GetValue(paceOption);
            var token = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            var targets = new List<(string Namespace, string Name)>();
            var given = parsed.GetValue(names) ?? [];
            if (given.Length > 0)
            {
                targets.AddRange(given.Select(name => (kube.Namespace, name)));
            }
            else
            {
                var list = parsed.GetValue(allNamespaces)
                    ? await kube.Client.CustomObjects.ListClusterCustomObjectAsync<CertificateList>(Certificate.KubeGroup, Certificate.KubeApiVersion, Certificate.KubePluralName, labelSelector: parsed.GetValue(selector), cancellationToken: cancellationToken)
                    : await kube.Client.CustomObjects.ListNamespacedCustomObjectAsync<CertificateList>(Certificate.KubeGroup, Certificate.KubeApiVersion, kube.Namespace, Certificate.KubePluralName, labelSelector: parsed.GetValue(selector), cancellationToken: cancellationToken);
                targets.AddRange(list.Items
                    .Select(c => (c.Metadata.NamespaceProperty, c.Metadata.Name))
                    .OrderBy(t => t.NamespaceProperty, StringComparer.Ordinal).ThenBy(t => t.Name, StringComparer.Ordinal));
                if (targets.Count == 0)
                {
                    await Console.Error.WriteLineAsync(parsed.GetValue(allNamespaces) ? "No resources found" : $"No resources found in {kube.Namespace} namespace.");
                    return ExitCodes.Ok;
                }
            }

            var patch = new V1Patch(JsonSerializer.Serialize(new { metadata = new { annotations = new Dictionary<string, string> { [RenewAnnotation.Name] = token } } }), V1Patch.PatchType.MergePatch);
            var failed = 0;
            foreach (var (ns, name) in targets)
            {
                try
                {
                    await kube.Client.CustomObjects.PatchNamespacedCustomObjectAsync(patch, Certificate.KubeGroup, Certificate.KubeApiVersion, ns, Certificate.KubePluralName, name, cancellationToken: cancellationToken);
                    await Console.Out.WriteLineAsync($"certificate.notary.dev/{name} renewal requested in namespace {ns} ({RenewAnnotation.Name}={token})");
                }
                catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.NotFound)
                {
                    // As kubectl: the others still go ahead, the exit code says one failed.
                    failed++;
                    await Console.Error.WriteLineAsync($"Error from server (NotFound): certificates.notary.dev \"{name}\" not found in namespace {ns}");
                }
                catch (HttpOperationException ex)
                {
                    // A 403 in one namespace (RBAC) must not stop the rest unnamed: each failure
                    // names its certificate, the others still go ahead, the exit code says so.
                    failed++;
                    var status = ex.Response?.StatusCode is { } code ? code.ToString() : "Unknown";
                    await Console.Error.WriteLineAsync($"Error from server ({status}): certificate.notary.dev/{name} in namespace {ns} was not annotated: {FirstLine(ex.Response?.Content) ?? ex.Message}");
                }

                if (pace > 0 && (ns, name) != targets[^1])
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(pace), cancellationToken);
                }
            }

            if (failed > 0 && targets.Count > 1)
            {
                await Console.Error.WriteLineAsync($"{failed} of {targets.Count} certificates were not annotated (see the lines above); the others were.");
            }

            return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }

    /// <summary>The API server's message (the Status object's JSON is one line): at most 300 characters.</summary>
    private static string? FirstLine(string? content)
    {
        if (string.IsNullOrWhiteSpace(content))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(content);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var message) && message.GetString() is { } text)
            {
                content = text;
            }
        }
        catch (JsonException)
        {
            // Not a Status object: its first line as it is.
        }

        var line = content.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}
