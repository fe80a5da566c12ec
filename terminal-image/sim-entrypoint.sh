#!/bin/sh
# Entrypoint of the simulator terminal image (Dockerfile.sim): runs the terminal server with
# the simulator backend.  Also runs outside Docker (tests, local use) with PYTHON set.
#
# Settings (environment):
#   TERMINAL_HOST         bind address                        (default 0.0.0.0 in the image)
#   TERMINAL_PORT         first RPyC port                     (default 8001)
#   TERMINAL_SECRET_FILE  shared-secret file                  (default /run/secrets/terminal_secret
#                         when that exists; "" for none, loopback hosts only)
#   TERMINAL_TLS_CERT / TERMINAL_TLS_KEY / TERMINAL_TLS_CA    optional mutual TLS
#   SIM_TERMINALS         simulated terminals, ports P..P+N-1 (default 1)
#   SIM_PROFILE           demo | bench                         (default demo)
#   SIM_SEED, SIM_LOGIN_DELAY                                  optional
#   LOG_LEVEL             DEBUG | INFO | WARNING               (default INFO)
#   PYTHON                interpreter                          (default python3)
set -eu

host="${TERMINAL_HOST:-0.0.0.0}"
port="${TERMINAL_PORT:-8001}"
python="${PYTHON:-python3}"
if [ -z "${TERMINAL_SECRET_FILE+set}" ] && [ -f /run/secrets/terminal_secret ]; then
    TERMINAL_SECRET_FILE=/run/secrets/terminal_secret
fi
secret_file="${TERMINAL_SECRET_FILE:-}"

set -- --backend sim --host "$host" --port "$port" \
    --terminals "${SIM_TERMINALS:-1}" --profile "${SIM_PROFILE:-demo}" \
    --log-level "${LOG_LEVEL:-INFO}"

case "$host" in
    127.*|localhost|::1) ;;
    *)
        # Off loopback the port is reachable by other containers: insist on authentication.
        if [ -z "$secret_file" ] && [ -z "${TERMINAL_TLS_CA:-}" ]; then
            echo "sim-entrypoint: refusing to listen on $host without TERMINAL_SECRET_FILE" \
                 "or TERMINAL_TLS_CA (mount the terminal_secret docker secret)" >&2
            exit 64
        fi
        set -- "$@" --allow-remote
        ;;
esac

if [ -n "$secret_file" ]; then
    if [ ! -r "$secret_file" ]; then
        echo "sim-entrypoint: cannot read secret file $secret_file" >&2
        exit 66
    fi
    set -- "$@" --auth-secret-file "$secret_file"
fi
if [ -n "${TERMINAL_TLS_CERT:-}" ]; then
    set -- "$@" --tls-cert "$TERMINAL_TLS_CERT" --tls-key "${TERMINAL_TLS_KEY:?TERMINAL_TLS_KEY}"
    if [ -n "${TERMINAL_TLS_CA:-}" ]; then
        set -- "$@" --tls-ca "$TERMINAL_TLS_CA"
    fi
fi
if [ -n "${SIM_SEED:-}" ]; then
    set -- "$@" --seed "$SIM_SEED"
fi
if [ -n "${SIM_LOGIN_DELAY:-}" ]; then
    set -- "$@" --login-delay "$SIM_LOGIN_DELAY"
fi

exec "$python" -m terminal_server "$@"
