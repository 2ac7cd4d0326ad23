using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Notary.Api.Contracts;

namespace Notary.Silo;

/// <summary>
/// How hard one client may call the breach API (configuration section <c>Notary:Api:RateLimit</c>,
/// or environment variables such as <c>Notary__Api__RateLimit__PermitsPerWindow</c>).
/// </summary>
public sealed class ApiRateLimitOptions
{
    public const string SectionName = "Notary:Api:RateLimit";

    /// <summary>
    /// Whether the breach API is throttled at all (default true). Turning it off lets any
    /// client make Notary send one TokenReview per request to the API server.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Requests one client (one remote address; see <see cref="Ipv6PrefixLength"/>) may make per
    /// <see cref="Window"/> (default 30): enough for a person or a script reporting a breach and
    /// polling its progress every second, far below what would load the API server.
    /// </summary>
    public int PermitsPerWindow { get; set; } = 30;

    /// <summary>The fixed window the permits are counted in (default 10 s); a refused client is told, in Retry-After, when it ends.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Clients Notary keeps a counter for at once (default 10000); beyond that, new addresses share
    /// one overflow counter, so that a flood from many addresses cannot grow Notary's memory.
    /// </summary>
    public int MaxClients { get; set; } = 10_000;

    /// <summary>
    /// How many leading bits of an IPv6 address make one client (default 128: the full address).
    /// In an IPv6 cluster many pods, often every pod of a node, share one /64, so counting by /64
    /// would let one noisy pod get every other pod on its node 429s. A shorter prefix (for example
    /// 64) suits callers from outside the cluster, where one host can rotate through its /64; it
    /// must be between 32 and 128. IPv4 addresses always count one by one.
    /// </summary>
    public int Ipv6PrefixLength { get; set; } = 128;
}

/// <summary>Refuses limits the throttle cannot work with, saying how to fix them.</summary>
public sealed class ApiRateLimitOptionsValidator : IValidateOptions<ApiRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, ApiRateLimitOptions options)
    {
        const string Section = ApiRateLimitOptions.SectionName;
        var failures = new List<string>();
        if (options.PermitsPerWindow is < 1 or > 100_000)
        {
            failures.Add($"{Section}:PermitsPerWindow {options.PermitsPerWindow} must be between 1 and 100000 (default 30); to turn throttling off, set {Section}:Enabled=false.");
        }

        if (options.Window < TimeSpan.FromMilliseconds(100) || options.Window > TimeSpan.FromHours(1))
        {
            failures.Add($"{Section}:Window {options.Window} must be between 00:00:00.1 and 01:00:00 (default 00:00:10).");
        }

        if (options.MaxClients is < 1 or > 1_000_000)
        {
            failures.Add($"{Section}:MaxClients {options.MaxClients} must be between 1 and 1000000 (default 10000).");
        }

        if (options.Ipv6PrefixLength is < 32 or > 128)
        {
            failures.Add($"{Section}:Ipv6PrefixLength {options.Ipv6PrefixLength} must be between 32 and 128 (default 128, one client per IPv6 address; 64 counts a whole /64 as one client).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>
/// Throttles the breach API per client with ASP.NET Core's rate limiter, before its handlers run:
/// a flooding client (valid token or not) gets 429 with <c>Retry-After</c> and costs Notary no
/// TokenReview. A client is the TCP peer's address (an IPv6 client by its full address unless
/// <see cref="ApiRateLimitOptions.Ipv6PrefixLength"/> groups a prefix): Notary does not read <c>X-Forwarded-For</c>, which any caller
/// can write, so behind a proxy or ingress every caller shares the proxy's budget (README,
/// "Security" → "HTTP API throttling").
/// </summary>
public static class ApiThrottling
{
    /// <summary>The rate limiter policy the breach API's endpoints require.</summary>
    public const string PolicyName = "notary-breach-api";

    /// <summary>Registers the policy with <see cref="ApiRateLimitOptions"/> bound from <c>Notary:Api:RateLimit</c>, validated on start.</summary>
    public static IServiceCollection AddNotaryApiThrottling(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApiRateLimitOptions>().Bind(configuration.GetSection(ApiRateLimitOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiRateLimitOptions>, ApiRateLimitOptionsValidator>();
        services.AddSingleton<ClientPartitions>();
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var options = context.HttpContext.RequestServices.GetRequiredService<IOptions<ApiRateLimitOptions>>().Value;
                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : options.Window;
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                // Not logged: a flood would flood the log too. The answer is the API's error shape.
                await context.HttpContext.Response.WriteAsJsonAsync(
                    new BreachApiError($"too many requests from this client: try again in {seconds} s"), BreachJson.Options, cancellationToken);
            };
            limiter.AddPolicy(PolicyName, context =>
            {
                var options = context.RequestServices.GetRequiredService<IOptions<ApiRateLimitOptions>>().Value;
                if (!options.Enabled)
                {
                    return RateLimitPartition.GetNoLimiter(string.Empty);
                }

                var client = context.RequestServices.GetRequiredService<ClientPartitions>().For(context.Connection.RemoteIpAddress, options);
                return RateLimitPartition.GetFixedWindowLimiter(client, _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = options.PermitsPerWindow,
                    Window = options.Window,
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
        });
        return services;
    }

    /// <summary>
    /// The partition of a remote address: IPv4 as is (IPv4-mapped IPv6 included), IPv6 by its
    /// first <paramref name="ipv6PrefixLength"/> bits (default 128, the full address).
    /// </summary>
    public static string ClientOf(IPAddress? address, int ipv6PrefixLength = 128)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ipv6PrefixLength, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ipv6PrefixLength, 128);
        if (address is null)
        {
            // No TCP peer (an in-process test server, a Unix socket): one shared partition.
            return "(local)";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        if (ipv6PrefixLength == 128)
        {
            // The full address; a scope id (fe80::1%eth0) is not part of who the client is.
            return new IPAddress(address.GetAddressBytes()).ToString();
        }

        var bytes = address.GetAddressBytes();
        for (var bit = ipv6PrefixLength; bit < 128; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return new IPAddress(bytes) + "/" + ipv6PrefixLength.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The partition keys handed out, bounded: the rate limiter keeps one limiter per key until it
    /// is idle, so without a bound a flood from many addresses would grow without limit.
    /// </summary>
    public sealed class ClientPartitions(TimeProvider time)
    {
        /// <summary>The partition clients share once <see cref="ApiRateLimitOptions.MaxClients"/> are counted.</summary>
        public const string Overflow = "(overflow)";

        private readonly Lock _lock = new();
        private readonly Dictionary<string, long> _seen = new(StringComparer.Ordinal);

        /// <summary>The partition key of <paramref name="address"/>: <see cref="ClientOf"/>, or <see cref="Overflow"/> when too many clients are counted.</summary>
        public string For(IPAddress? address, ApiRateLimitOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            var maxClients = options.MaxClients;
            var idle = Math.Max(60_000, (long)options.Window.TotalMilliseconds * 2);
            var client = ClientOf(address, options.Ipv6PrefixLength);
            var now = time.GetTimestamp() * 1000 / time.TimestampFrequency;
            lock (_lock)
            {
                if (_seen.ContainsKey(client))
                {
                    _seen[client] = now;
                    return client;
                }

                if (_seen.Count >= maxClients)
                {
                    // Forget clients idle for two windows (at least a minute): their limiters are gone too. If none is, overflow.
                    foreach (var stale in _seen.Where(pair => now - pair.Value > idle).Select(pair => pair.Key).ToList())
                    {
                        _seen.Remove(stale);
                    }

                    if (_seen.Count >= maxClients)
                    {
                        return Overflow;
                    }
                }

                _seen[client] = now;
                return client;
            }
        }
    }
}
