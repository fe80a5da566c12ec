#!/bin/bash
# s6 longrun `svc-mt5gw-server`: our restricted terminal server (never classic RPyC) in Windows
# Python, in the foreground, so s6 restarts it when it dies.  It waits for terminal64.exe (the
# terminal service installs it on a first start) AND for install-mt5.sh to be over: an install
# ends by killing every Windows process of the prefix, so a server started as soon as
# terminal64.exe appeared would die with it.
#
# Settings: TERMINAL_HOST (0.0.0.0: other containers and the published port reach it),
# TERMINAL_PORT (8001), LOG_LEVEL, LOG_FORMAT (json|text, passed as --log-format when set).
# Authentication comes from init-mt5gw.sh: $MT5GW_RUN/terminal_secret (this terminal's own
# secret) and/or $MT5GW_RUN/tls.{crt,key,ca} (mutual TLS, from TERMINAL_TLS_CERT/KEY/CA; the
# clients' CA file is tls.client-ca, which also trusts this container's own health probe).
set -uo pipefail
export MT5GW_TAG=terminal-server
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"
mt5gw_drop_root "$0" "$@"

python_exe="${MT5GW_WINPYTHON:-/opt/winpython/python.exe}"
port="${TERMINAL_PORT:-8001}"

wait_for_terminal() {
    local deadline=$(( $(now) + ${MT5GW_TERMINAL_WAIT_S:-900} ))
    until [ -s "$MT5_EXE" ] && ! install_running; do
        if [ "$(now)" -ge "$deadline" ]; then
            say "MetaTrader 5 is still not installed (or its install still runs);" \
                "s6 will run this again"
            return 1
        fi
        sleep "${MT5GW_POLL_S:-2}"
    done
}

main() {
    wait_for_terminal || exit 1
    local args=(--backend real --host "${TERMINAL_HOST:-0.0.0.0}" --port "$port"
                --mt5-path "$MT5_EXE_WIN" --log-level "${LOG_LEVEL:-INFO}")
    case "${TERMINAL_HOST:-0.0.0.0}" in
        127.*|localhost|::1) ;;
        *) args+=(--allow-remote) ;;
    esac
    if [ -n "${LOG_FORMAT:-}" ]; then
        args+=(--log-format "$LOG_FORMAT")
    fi
    if [ -s "$MT5GW_RUN/terminal_secret" ]; then
        args+=(--auth-secret-file "$(winpath "$MT5GW_RUN/terminal_secret")")
    fi
    if [ -s "$MT5GW_RUN/tls.ca" ]; then
        # Clients: the operator's CA, plus this container's health probe (tls.client-ca).
        local client_ca="$MT5GW_RUN/tls.ca"
        [ ! -s "$MT5GW_RUN/tls.client-ca" ] || client_ca="$MT5GW_RUN/tls.client-ca"
        args+=(--tls-cert "$(winpath "$MT5GW_RUN/tls.crt")"
               --tls-key "$(winpath "$MT5GW_RUN/tls.key")"
               --tls-ca "$(winpath "$client_ca")")
    fi
    if [ ! -s "$MT5GW_RUN/terminal_secret" ] && [ ! -s "$MT5GW_RUN/tls.ca" ]; then
        say "no secret and no TLS CA in $MT5GW_RUN: refusing to serve without authentication"
        exit 64
    fi
    say "starting the terminal server on port $port"
    exec wine "$python_exe" -m terminal_server "${args[@]}"
}

main "$@"
