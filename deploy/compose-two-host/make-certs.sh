#!/bin/bash
# Certificates for mutual TLS between the gateways (host A) and the terminals (host B):
# one private CA, one server certificate per terminal, one client certificate for the
# gateways.  Safe to run again: what exists is kept (add terminals by raising N).
#
#   deploy/compose-two-host/make-certs.sh --san IP:10.8.0.2 2
#   deploy/compose-two-host/make-certs.sh --san DNS:terminals.internal,IP:10.8.0.2 3
#
# --san   how host A names host B in TERMINALS= (the gateway checks it against the
#         certificate): IP:<address> and/or DNS:<name>, comma-separated.  Required.
# --dir   where to write (default: secrets/ of this repository, next to deploy/terminals.sh's)
# --gateway-gid GID   group that may read the gateway's key (default 10001, the gateway
#         image's user; needs root for chgrp)
# --days  validity of new leaf certificates (default 825)
#
# It writes, under DIR:
#   tls/ca.key                 the CA's private key (0600): keep it OFF both hosts once done
#   tls/ca.crt                 the CA: on host A (verifies terminals) and B (verifies gateways)
#   terminal-n/tls.crt, .key   terminal n's server certificate (extendedKeyUsage serverAuth)
#   gateway/tls.crt, .key      the gateways' client certificate (clientAuth), key 0640
# Usages are kept apart: a terminal's certificate is refused as a client, so one stolen from a
# terminal opens no other terminal; the gateways' is refused as a server.  A terminal's health
# probe uses none of these: init-mt5gw.sh gives it a certificate of its own at every start,
# which that terminal alone trusts.
set -euo pipefail
umask 077

usage() {
    sed -n '2,16p' "$0" >&2
    exit 64
}

dir="$(cd "$(dirname "$0")/../.." && pwd)/secrets"
san=""
gateway_gid=10001
days=825
count=""
while [ $# -gt 0 ]; do
    case "$1" in
        --san) san="${2:-}"; shift 2 ;;
        --dir) dir="${2:-}"; shift 2 ;;
        --gateway-gid) gateway_gid="${2:-}"; shift 2 ;;
        --days) days="${2:-}"; shift 2 ;;
        -h|--help) usage ;;
        -*) echo "make-certs.sh: unknown option $1" >&2; usage ;;
        *) count="$1"; shift ;;
    esac
done
if ! [[ "$count" =~ ^[0-9]+$ ]] || [ "$count" -lt 1 ] || [ "$count" -gt 50 ]; then
    echo "make-certs.sh: N must be 1..50" >&2
    usage
fi
[[ "$days" =~ ^[0-9]+$ ]] || { echo "make-certs.sh: --days takes a number" >&2; usage; }
[[ "$gateway_gid" =~ ^[0-9]+$ ]] || { echo "make-certs.sh: --gateway-gid takes a number" >&2; usage; }
entry='(IP:[0-9a-fA-F.:]+|DNS:[A-Za-z0-9*]([A-Za-z0-9.-]*[A-Za-z0-9])?)'
[[ "$san" =~ ^$entry(,$entry)*$ ]] \
    || { echo "make-certs.sh: --san takes IP:<address> and/or DNS:<name>, comma-separated" >&2; usage; }
command -v openssl >/dev/null || { echo "make-certs.sh: needs openssl" >&2; exit 69; }

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

make_ca() {
    local d="$dir/tls"
    mkdir -p "$d"
    [ -s "$d/ca.crt" ] && return 0
    new_key "$d/ca.key"
    openssl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 \
        -subj "/CN=mt5-gateway terminals CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$d/ca.crt"
    chmod 0644 "$d/ca.crt"
    echo "created $d/ca.crt (CA key: $d/ca.key; keep it off the hosts)"
}

# leaf DIR CN USAGE [SAN]: a key and a certificate signed by the CA, unless they exist.
leaf() {
    local d="$1" cn="$2" usage="$3" alt="${4:-}" ext
    mkdir -p "$d"
    [ -s "$d/tls.crt" ] && return 0
    [ -s "$dir/tls/ca.key" ] || { echo "make-certs.sh: the CA key is gone; cannot sign $cn" >&2; exit 66; }
    new_key "$d/tls.key"
    ext=$(mktemp)
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$usage"
        echo "subjectKeyIdentifier=hash"
        echo "authorityKeyIdentifier=keyid"
        [ -z "$alt" ] || echo "subjectAltName=$alt"
    } >"$ext"
    openssl req -new -key "$d/tls.key" -subj "/CN=$cn" \
        | openssl x509 -req -CA "$dir/tls/ca.crt" -CAkey "$dir/tls/ca.key" -sha256 \
            -set_serial "0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" \
            -days "$days" -extfile "$ext" -out "$d/tls.crt" 2>/dev/null
    rm -f "$ext"
    chmod 0644 "$d/tls.crt"
    echo "created $d/tls.crt ($cn, $usage)"
}

make_ca
for (( n = 1; n <= count; n++ )); do
    leaf "$dir/terminal-$n" "mt5-terminal-$n" serverAuth "$san"
done
leaf "$dir/gateway" "mt5-gateway" clientAuth
# The gateway containers run as 10001: their group reads the key, nobody else.
if chgrp "$gateway_gid" "$dir/gateway/tls.key" 2>/dev/null; then
    chmod 0640 "$dir/gateway/tls.key"
else
    echo "warning: could not give $dir/gateway/tls.key to group $gateway_gid; run as root" >&2
fi
echo
echo "Host B needs: tls/ca.crt and terminal-1..$count/tls.{crt,key}"
echo "Host A needs: tls/ca.crt and gateway/tls.{crt,key}"
