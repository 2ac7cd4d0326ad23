// Chooses the crypto backend of Notary's built-in CA by measurement: the same unit of issuance
// (and PKCS#12 keystore encoding) written with System.Security.Cryptography and with BouncyCastle,
// measured in one process, interleaved, on one thread and on all cores. See bench/RESULTS.md.
using System.Diagnostics;
using System.Security.Cryptography;
using Notary.Pki.Bench;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

var total = Stopwatch.StartNew();
var output = Console.Out;
output.WriteLine($"Notary crypto backend benchmark{(options.Smoke ? " (smoke)" : "")}");
foreach (string line in MachineInfo.Describe())
{
    output.WriteLine($"  {line}");
}

output.WriteLine($"  algorithms: {string.Join(",", options.Algorithms)}; seconds per cell and mode: {options.Seconds}; " +
    $"max ops per cell and mode: {options.Count} (rsa4096: {options.Rsa4096Count})");

var ca = BenchCa.Create(TimeProvider.System.GetUtcNow());
var verifier = new Verifier(ca);
var workloads = new List<WorkloadResult>();
var failures = new List<string>();

foreach (var algorithm in options.Algorithms)
{
    var harness = new Harness(options.BudgetFor(algorithm), output);
    output.WriteLine($"issue {algorithm} (load average {MachineInfo.LoadAverage()})");
    var (results, failed) = harness.Run<IssuedLeaf>(
        $"issue {algorithm}",
        [
            new(Report.DotNet, () => new DotNetLeafIssuer(ca, algorithm, BenchCa.LeafFqdn)),
            new(Report.BouncyCastle, () => new BouncyCastleLeafIssuer(ca, algorithm, BenchCa.LeafFqdn)),
        ],
        leaf => verifier.VerifyLeaf(leaf, algorithm));
    workloads.Add(new WorkloadResult(WorkloadResult.Issue, algorithm, results));
    failures.AddRange(failed);
}

// Keystore encoding alone, from an already issued leaf. The key type only changes the size of the
// encrypted PKCS#8; the cost is the password-based KDF and MAC.
foreach (var algorithm in new[] { LeafAlgorithm.EcdsaP256, LeafAlgorithm.Rsa2048 })
{
    IssuedLeaf leaf;
    using (var issuer = new DotNetLeafIssuer(ca, algorithm, BenchCa.LeafFqdn))
    {
        leaf = issuer.Run();
    }

    var input = new KeystoreInput(algorithm, leaf, ca.CertificateDer);
    var harness = new Harness(options.BudgetFor(null), output);
    output.WriteLine($"pkcs12 {algorithm} (load average {MachineInfo.LoadAverage()})");
    var (results, failed) = harness.Run<byte[]>(
        $"pkcs12 {algorithm}",
        [
            new(Report.DotNet, () => new DotNetPkcs12Encoder(input, Pkcs12Settings.BouncyCastleFixed)),
            new(Report.BouncyCastle, () => new BouncyCastlePkcs12Encoder(input)),
            new(Report.DotNetNotarySettings, () => new DotNetPkcs12Encoder(input, Pkcs12Settings.Notary)),
        ],
        pfx => Verifier.VerifyKeystore(pfx, input));
    workloads.Add(new WorkloadResult(WorkloadResult.Pkcs12, algorithm, results));
    failures.AddRange(failed);
}

if (options.SamplesDirectory is { } directory)
{
    WriteSamples(directory);
}

output.WriteLine();
output.WriteLine($"pkcs12 settings: {Report.DotNet} and {Report.BouncyCastle} = {Pkcs12Settings.BouncyCastleFixed.Name} " +
    $"(all BouncyCastle's Pkcs12Store can write); {Report.DotNetNotarySettings} = {Pkcs12Settings.Notary.Name}");
Report.Print(output, workloads);
Report.PrintResultLines(output, workloads);

output.WriteLine();
foreach (string failure in failures)
{
    output.WriteLine($"INVALID {failure}");
}

output.WriteLine($"verification: {(failures.Count == 0 ? "all outputs valid in both backends" : $"{failures.Count} failure(s)")}");
output.WriteLine($"total time: {total.Elapsed.TotalSeconds:F1} s; load average at the end: {MachineInfo.LoadAverage()}");
return failures.Count == 0 ? 0 : 1;

void WriteSamples(string directory)
{
    Directory.CreateDirectory(directory);
    File.WriteAllText(Path.Combine(directory, "ca.crt"), PemEncoding.WriteString("CERTIFICATE", ca.CertificateDer));
    var algorithm = LeafAlgorithm.EcdsaP256;
    var issuers = new (string Name, IOperation<IssuedLeaf> Issuer)[]
    {
        (Report.DotNet, new DotNetLeafIssuer(ca, algorithm, BenchCa.LeafFqdn)),
        (Report.BouncyCastle, new BouncyCastleLeafIssuer(ca, algorithm, BenchCa.LeafFqdn)),
    };
    foreach (var (name, issuer) in issuers)
    {
        using (issuer)
        {
            var leaf = issuer.Run();
            File.WriteAllText(Path.Combine(directory, $"{name}.crt"), PemEncoding.WriteString("CERTIFICATE", leaf.CertificateDer));
            File.WriteAllText(Path.Combine(directory, $"{name}.key"), PemEncoding.WriteString("PRIVATE KEY", leaf.PrivateKeyPkcs8));
            var input = new KeystoreInput(algorithm, leaf, ca.CertificateDer);
            File.WriteAllBytes(Path.Combine(directory, $"{name}.p12"), new BouncyCastlePkcs12Encoder(input).Run());
            File.WriteAllBytes(Path.Combine(directory, $"{name}-dotnet-bcsettings.p12"),
                new DotNetPkcs12Encoder(input, Pkcs12Settings.BouncyCastleFixed).Run());
            File.WriteAllBytes(Path.Combine(directory, $"{name}-dotnet-notary.p12"),
                new DotNetPkcs12Encoder(input, Pkcs12Settings.Notary).Run());
        }
    }

    output.WriteLine($"samples written to {directory} (keystore password: {KeystoreInput.Password})");
}
