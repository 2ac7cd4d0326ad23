#!/usr/bin/env bash
# The payments team brings its own CA: a root the team keeps (its key never reaches the cluster)
# and an intermediate that Notary signs with, stored as the Secret payments/team-ca-keys that the
# Issuer in 06-team-issuer.yaml names. Run it before (or after) `kubectl apply -f examples/`;
# until the Secret exists the ledger Certificate waits with Ready=False/IssuerNotReady.
#
#   ./examples/team-ca.sh [DIR]     # DIR keeps the root and intermediate (default: a new temp dir)
set -euo pipefail
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/O=Payments Team/CN=Payments Team Root CA" -keyout "$dir/root.key" -out "$dir/root.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=Payments Team/CN=Payments Team Intermediate CA" -keyout "$dir/team.key" -out "$dir/team.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' > "$dir/ca.ext"
openssl x509 -req -in "$dir/team.csr" -CA "$dir/root.crt" -CAkey "$dir/root.key" -CAcreateserial -days 730 \
  -extfile "$dir/ca.ext" -out "$dir/team.crt" 2>/dev/null
cat "$dir/team.crt" "$dir/root.crt" > "$dir/chain.crt"

kubectl create namespace payments --dry-run=client -o yaml | kubectl apply -f - > /dev/null
kubectl -n payments create secret tls team-ca-keys --cert="$dir/chain.crt" --key="$dir/team.key" \
  --dry-run=client -o yaml | kubectl apply -f - > /dev/null
echo "Secret payments/team-ca-keys holds the intermediate; the team's root certificate is $dir/root.crt"
