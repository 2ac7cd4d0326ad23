#!/usr/bin/env bash
# Regenerates the README's trust graph of the examples: starts dev mode on free ports, applies
# examples/ (as the README's walk-through does), waits until everything is Ready, then draws it
# with `kubectl notary graph` (run from src/Cli): docs/trust-graph.dot, docs/trust-graph.png
# (graphviz `dot`) and docs/trust-graph.mmd (Mermaid, the README's ```mermaid block).
# Usage: scripts/trust-graph.sh   (needs dotnet, kubectl, openssl and graphviz's dot)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v dot >/dev/null 2>&1 || { echo "graphviz's dot is required (apt-get install graphviz)"; exit 1; }

work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export KUBECONFIG="$work/kubeconfig"

dotnet build src/Dev -c Release -warnaserror -v q -nologo >/dev/null
dotnet build src/Cli -c Release -warnaserror -v q -nologo >/dev/null
dotnet run --no-build -c Release --project src/Dev -- --kubeconfig "$KUBECONFIG" --api-port "$(free_port)" --kube-port "$(free_port)" >"$work/dev.log" 2>&1 &
dev=$!
trap 'kill "$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 1 120); do
  [ -f "$KUBECONFIG" ] && kubectl get crd certificates.notary.dev >/dev/null 2>&1 && break
  kill -0 "$dev" 2>/dev/null || { cat "$work/dev.log"; exit 1; }
  sleep 1
done

./examples/team-ca.sh "$work/team-ca" >/dev/null
kubectl apply -f examples/ >/dev/null
for ns in frontend orders payments; do
  kubectl wait --for=condition=Ready certificates,keystores,truststores --all -n "$ns" --timeout=120s >/dev/null
done

notary() { dotnet run --no-build -c Release --project src/Cli -- "$@"; }
notary graph -A -o dot >docs/trust-graph.dot
notary graph -A -o mermaid >docs/trust-graph.mmd
dot -Tpng -Gdpi=110 -o docs/trust-graph.png docs/trust-graph.dot
echo "wrote docs/trust-graph.dot, docs/trust-graph.png, docs/trust-graph.mmd"
