using Microsoft.Extensions.Options;

namespace Notary.Silo.Alerts;

/// <summary>
/// Where and how alerts are POSTed (configuration section <c>Notary:Alerts</c>, or environment
/// variables such as <c>Notary__Alerts__WebhookUrl</c>).
/// </summary>
public sealed class NotaryAlertOptions
{
    public const string SectionName = "Notary:Alerts";

    /// <summary>
    /// The http(s) URL that receives each alert as a JSON POST; unset (the default), alerts are
    /// Events and metrics only. The URL may carry a token: Notary never logs it, only its host.
    /// </summary>
    public string? WebhookUrl { get; set; }

    /// <summary>
    /// Allows an <c>http://</c> <see cref="WebhookUrl"/> (default false: refused at start). Plain
    /// HTTP shows every alert to the network and lets anyone on the path drop it; the signature
    /// still proves who sent it. Only for a receiver on a network you trust (a sidecar, localhost).
    /// </summary>
    public bool AllowInsecureHttp { get; set; }

    /// <summary>
    /// The key each payload is signed with (HMAC-SHA256, header <see cref="WebhookSignature.SignatureHeader"/>);
    /// required with a webhook. The chart reads it from key <c>signingKey</c> of the webhook Secret.
    /// At least 32 characters, e.g. <c>openssl rand -hex 32</c>. Never logged.
    /// </summary>
    public string? SigningKey { get; set; }

    /// <summary>
    /// Alerts delivered at the same time (default 8), each with its own retries, so one slow or
    /// failing delivery never holds up the others. 1 delivers strictly in order, one at a time.
    /// </summary>
    public int MaxConcurrentDeliveries { get; set; } = 8;

    /// <summary>Alerts waiting for delivery; when full, the oldest is dropped (and logged).</summary>
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Attempts per alert (the first included) on 5xx, 429, 408, timeouts and connection errors.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The pause after the first failed attempt; it doubles each time, with jitter, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between attempts, also the cap on a receiver's Retry-After.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The configured webhook, or null when unset or blank.</summary>
    public Uri? Webhook => string.IsNullOrWhiteSpace(WebhookUrl) ? null : new Uri(WebhookUrl, UriKind.Absolute);
}

/// <summary>Refuses values the alert sink cannot work with, saying how to fix them (never echoing the URL: it may carry a token).</summary>
public sealed class NotaryAlertOptionsValidator : IValidateOptions<NotaryAlertOptions>
{
    public ValidateOptionsResult Validate(string? name, NotaryAlertOptions options)
    {
        const string Section = NotaryAlertOptions.SectionName;
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.WebhookUrl)
            && (!Uri.TryCreate(options.WebhookUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            failures.Add($"{Section}:WebhookUrl is not an absolute http:// or https:// URL (e.g. https://alerts.example.com/notary); unset it to send no webhook.");
        }
        else if (options.Webhook is { } webhook)
        {
            if (webhook.Scheme == Uri.UriSchemeHttp && !options.AllowInsecureHttp)
            {
                failures.Add($"{Section}:WebhookUrl is http://, which shows every alert to the network: use https://, or set {Section}:AllowInsecureHttp=true for a receiver on a network you trust.");
            }

            if (string.IsNullOrEmpty(options.SigningKey) || options.SigningKey.Length < WebhookSignature.MinKeyLength)
            {
                failures.Add($"{Section}:SigningKey must be set, at least {WebhookSignature.MinKeyLength} characters, when a webhook is configured: put a random key (openssl rand -hex 32) under key signingKey of the webhook Secret (chart: alerts.existingSecret), and give the same key to the receiver to verify X-Notary-Signature.");
            }
        }

        if (options.MaxConcurrentDeliveries is < 1 or > 256)
        {
            failures.Add($"{Section}:MaxConcurrentDeliveries {options.MaxConcurrentDeliveries} must be between 1 (strictly in order) and 256 (default 8).");
        }

        if (options.QueueCapacity is < 1 or > 100_000)
        {
            failures.Add($"{Section}:QueueCapacity {options.QueueCapacity} must be between 1 and 100000 (default 1000).");
        }

        if (options.MaxAttempts is < 1 or > 100)
        {
            failures.Add($"{Section}:MaxAttempts {options.MaxAttempts} must be between 1 (no retry) and 100 (default 8).");
        }

        if (options.InitialBackoff <= TimeSpan.Zero || options.InitialBackoff > options.MaxBackoff)
        {
            failures.Add($"{Section}:InitialBackoff {options.InitialBackoff} must be positive and at most MaxBackoff ({options.MaxBackoff}), e.g. \"00:00:01\".");
        }

        if (options.MaxBackoff <= TimeSpan.Zero || options.MaxBackoff > TimeSpan.FromHours(1))
        {
            failures.Add($"{Section}:MaxBackoff {options.MaxBackoff} must be positive and at most one hour, e.g. \"00:02:00\".");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Section}:RequestTimeout {options.RequestTimeout} must be positive and at most five minutes, e.g. \"00:00:10\".");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
