#!/bin/bash
# The Secrets of the sim-demo overlay, with fresh random values, printed as YAML:
#
#   deploy/kubernetes/overlays/sim-demo/demo-secrets.sh | kubectl apply -f -
#   deploy/kubernetes/overlays/sim-demo/demo-secrets.sh --namespace other | kubectl apply -f -
#
# mt5-gateway-secrets: a random HS256 SUPABASE_JWT_SECRET (the demo signs its own tokens; the
#   issuer is http://supabase.invalid/auth/v1, see the runbook), a random MT5_ENCRYPTION_KEYS,
#   the terminals' RPyC secret, the gateway replicas' shared REPLICA_SECRET, and DATABASE_URL
#   for the demo PostgreSQL;
# mt5-terminal-0: the same RPyC secret, for the simulator pod;
# mt5-demo-postgres: the database password.
# Running it again makes new values: apply, then restart the pods (a rotation).
set -euo pipefail

namespace=mt5-gateway
while [ $# -gt 0 ]; do
    case "$1" in
        -n|--namespace) namespace="${2:-}"; shift 2 ;;
        *) echo "usage: demo-secrets.sh [--namespace NAME]" >&2; exit 64 ;;
    esac
done
[[ "$namespace" =~ ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$ ]] \
    || { echo "demo-secrets.sh: not a namespace name: $namespace" >&2; exit 64; }

hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

rpyc=$(hex 32)
db_password=$(hex 24)

cat <<EOF
apiVersion: v1
kind: Secret
metadata:
  name: mt5-gateway-secrets
  namespace: $namespace
type: Opaque
stringData:
  SUPABASE_URL: "http://supabase.invalid"
  SUPABASE_JWT_SECRET: "$(hex 32)"
  MT5_ENCRYPTION_KEYS: "k1:$(b64 32)"
  TERMINAL_SECRET: "$rpyc"
  REPLICA_SECRET: "$(hex 32)"
  DATABASE_URL: "postgresql+asyncpg://gateway:$db_password@demo-postgres:5432/gateway"
---
apiVersion: v1
kind: Secret
metadata:
  name: mt5-terminal-0
  namespace: $namespace
type: Opaque
stringData:
  rpyc_secret: "$rpyc"
---
apiVersion: v1
kind: Secret
metadata:
  name: mt5-demo-postgres
  namespace: $namespace
type: Opaque
stringData:
  password: "$db_password"
EOF
