#!/usr/bin/env bash
# Mutation testing of the pure decision code (src/Grains/Policies/*.cs, whatever files it holds)
# with Stryker.NET against the fast pure tests (tests/Grains.Policies.Tests, no Orleans cluster).
# Prints the mutation score of each policy file and writes the full report under
# StrykerOutput/. Takes a few minutes on two cores: not part of .ci/run. See TESTING.md.
#
#   scripts/mutation.sh              every file under src/Grains/Policies
#   scripts/mutation.sh --break 80   also fail (exit 1) when any policy file scores under 80 %
set -euo pipefail
cd "$(dirname "$0")/.."

break_at=""
if [ "${1:-}" = "--break" ]; then
  break_at="${2:?--break needs a percentage}"
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet tool restore >/dev/null

out="$PWD/StrykerOutput/policies"
rm -rf "$out"
# Run from the project under mutation: at the repository root Stryker would pick the solution,
# which cannot be combined with naming the test project. The glob takes files added later too.
(cd src/Grains && dotnet tool run dotnet-stryker \
  --test-project ../../tests/Grains.Policies.Tests/Grains.Policies.Tests.csproj \
  --mutate "**/Policies/**/*.cs" \
  --configuration Release \
  --concurrency "${STRYKER_CONCURRENCY:-2}" \
  --reporter json --reporter html --reporter progress \
  --output "$out")

python3 - "$out/reports/mutation-report.json" "$break_at" <<'PY'
import json, sys
report, break_at = json.load(open(sys.argv[1])), sys.argv[2]
print(f"\n{'policy file':<28} {'score':>8} {'killed':>7} {'survived':>9} {'no cover':>9}")
low = []
for path, f in sorted(report["files"].items()):
    path = path.replace("\\", "/")
    if "/Policies/" not in path:
        continue
    name = path.split("/Policies/", 1)[1]
    counts = {}
    for m in f["mutants"]:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
    detected = counts.get("Killed", 0) + counts.get("Timeout", 0)
    undetected = counts.get("Survived", 0) + counts.get("NoCoverage", 0)
    if detected + undetected == 0:
        print(f"{name:<28} {'n/a':>8} {0:>7} {0:>9} {0:>9}")
        continue
    score = 100.0 * detected / (detected + undetected)
    print(f"{name:<28} {score:7.2f}% {detected:>7} {counts.get('Survived', 0):>9} {counts.get('NoCoverage', 0):>9}")
    if break_at and score < float(break_at):
        low.append(name)
if low:
    print(f"under {break_at} %: {', '.join(low)}")
    sys.exit(1)
PY
