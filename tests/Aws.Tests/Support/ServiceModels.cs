using System.IO.Compression;
using System.Text.Json;
using Notary.Pki.Tests.Support;

namespace Notary.Aws.Tests.Support;

/// <summary>
/// The botocore service models of the machine's Python (the same files the AWS CLI speaks from),
/// found with python3 at test time: the authority the wire-shape tests compare our types with.
/// </summary>
public static class ServiceModels
{
    private static readonly Lazy<Task<string>> DataDirectory = new(async () =>
    {
        var result = await ToolRunner.RunAsync("python3", "-c", "import botocore,os;print(os.path.dirname(botocore.__file__))");
        Assert.True(result.ExitCode == 0, $"python3 could not import botocore: {result}");
        return Path.Combine(result.StdOut.Trim(), "data");
    });

    private static readonly Dictionary<string, JsonDocument> Loaded = new(StringComparer.Ordinal);

    /// <summary>The newest service-2.json(.gz) of <paramref name="service"/> (acm, secretsmanager, acm-pca).</summary>
    public static async Task<JsonElement> LoadAsync(string service)
    {
        lock (Loaded)
        {
            if (Loaded.TryGetValue(service, out var cached))
            {
                return cached.RootElement;
            }
        }

        var directory = Path.Combine(await DataDirectory.Value, service);
        var version = Directory.GetDirectories(directory).OrderDescending(StringComparer.Ordinal).First();
        var file = Directory.GetFiles(version, "service-2.json*").Single();
        await using var stream = File.OpenRead(file);
        await using Stream json = file.EndsWith(".gz", StringComparison.Ordinal) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
        var document = await JsonDocument.ParseAsync(json);
        lock (Loaded)
        {
            Loaded[service] = document;
        }

        return document.RootElement;
    }
}
