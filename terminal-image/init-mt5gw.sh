#!/bin/bash
# One-shot at every container start (s6-rc `init-mt5gw-config`, as root, before any service):
#   1. refuses to go on without the terminal's own RPyC secret (or mutual TLS) and without a
#      KasmVNC password (an empty PASSWORD would publish the desktop with no auth at all);
#   2. copies the secrets the services need into $MT5GW_RUN, owned by the desktop user, 0600
#      (under mutual TLS, with a client certificate of the health probe's own, trusted by this
#      terminal only);
#   3. writes MT5's startup configuration from MT5_LOGIN/MT5_PASSWORD/MT5_SERVER (docker
#      secrets) so the terminal logs in and allows algo trading without VNC;
#   4. seeds the Wine prefix in /config from the one built into the image, on first start;
#   5. retires the old openbox autostart entry (the services replace it).
# Exit status non-zero stops the container (S6_BEHAVIOUR_IF_STAGE2_FAILS=2 in the image).
set -euo pipefail
umask 077
export MT5GW_TAG=init-mt5gw
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"

secrets_dir="${MT5GW_SECRETS:-/run/secrets}"
template="${MT5GW_PREFIX_TEMPLATE:-$MT5GW_HOME/prefix}"

# The first line of a secret file, or of a variable when the file does not exist.
read_setting() {
    local file="$1" fallback="$2" value=""
    if [ -s "$file" ]; then
        IFS= read -r value <"$file" || true
    else
        value="$fallback"
    fi
    value="${value%$'\r'}"
    printf '%s' "$value"
}

copy_private() {
    local source="$1" name="$2"
    install -m 0600 "$source" "$MT5GW_RUN/$name"
    [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$MT5GW_RUN/$name"
}

# The health probe's own client certificate under mutual TLS (healthcheck.py runs in this
# container).  The terminal's certificate is for serving only (make-certs.sh: serverAuth), and
# a client certificate from the operator's CA would open every terminal that trusts that CA.
# So: a key and a self-signed clientAuth certificate made here at every start, which only
# THIS terminal server trusts (tls.client-ca = the operator's CA + this certificate, its
# --tls-ca); no other terminal knows it, and its key never leaves this container.
make_probe_identity() {
    local key="$MT5GW_RUN/probe.key" crt="$MT5GW_RUN/probe.crt" name
    if ! command -v openssl >/dev/null; then
        say "mutual TLS needs openssl for the health probe's certificate; not starting"
        exit 69
    fi
    if ! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$key" 2>/dev/null \
        || ! openssl req -x509 -new -key "$key" -sha256 -days 3650 -out "$crt" -config <(
            printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = probe' \
                'prompt = no' '[dn]' 'CN = mt5gw-health-probe' '[probe]' \
                'basicConstraints = critical,CA:FALSE' 'keyUsage = critical,digitalSignature' \
                'extendedKeyUsage = clientAuth' 'subjectKeyIdentifier = hash'
        ) 2>/dev/null; then
        say "could not make the health probe's certificate with openssl; not starting"
        exit 70
    fi
    # (echo: the operator's CA file may lack its last newline)
    { cat "$MT5GW_RUN/tls.ca"; echo; cat "$crt"; } >"$MT5GW_RUN/tls.client-ca"
    for name in probe.key probe.crt tls.client-ca; do
        chmod 0600 "$MT5GW_RUN/$name"
        [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$MT5GW_RUN/$name"
    done
}

prepare_secrets() {
    mkdir -p "$MT5GW_RUN"
    chmod 0700 "$MT5GW_RUN"
    [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$MT5GW_RUN"
    local secret="${TERMINAL_SECRET_FILE:-$secrets_dir/terminal_secret}"
    rm -f "$MT5GW_RUN/terminal_secret" "$MT5GW_RUN"/tls.* "$MT5GW_RUN"/probe.*
    if [ -s "$secret" ]; then
        if [ "$(tr -d '[:space:]' <"$secret" | wc -c)" -lt 16 ]; then
            say "the RPyC secret $secret is shorter than 16 characters; not starting"
            exit 65
        fi
        copy_private "$secret" terminal_secret
    fi
    if [ -n "${TERMINAL_TLS_CERT:-}${TERMINAL_TLS_KEY:-}${TERMINAL_TLS_CA:-}" ]; then
        local part
        for part in TERMINAL_TLS_CERT TERMINAL_TLS_KEY TERMINAL_TLS_CA; do
            if [ ! -r "${!part:-}" ]; then
                say "mutual TLS needs $part to name a readable file; not starting"
                exit 66
            fi
        done
        copy_private "$TERMINAL_TLS_CERT" tls.crt
        copy_private "$TERMINAL_TLS_KEY" tls.key
        copy_private "$TERMINAL_TLS_CA" tls.ca
        make_probe_identity
    fi
    if [ ! -e "$MT5GW_RUN/terminal_secret" ] && [ ! -e "$MT5GW_RUN/tls.ca" ]; then
        say "no RPyC secret at $secret and no TERMINAL_TLS_*: mount this terminal's own" \
            "terminal_secret docker secret (deploy/terminals.sh creates it); not starting"
        exit 66
    fi
    if [ -z "${PASSWORD:-}" ] && [ -z "${MT5GW_ALLOW_NO_VNC_PASSWORD:-}" ]; then
        say "no KasmVNC password (PASSWORD, or FILE__PASSWORD=/run/secrets/vnc_password):" \
            "the desktop would be open without authentication; not starting"
        exit 66
    fi
}

ini_line() {
    printf '%s=%s\r\n' "$1" "$2"
}

# MT5's startup configuration (terminal64.exe /config:<file>): [Common] logs in, [Experts]
# allows algo trading, also after the gateway switches accounts (Account=0).  MT5 reads
# UTF-16LE ini files; the file holds the password, so it is 0600 and lives in $MT5GW_RUN.
write_startup_ini() {
    local login server password ini="$MT5GW_RUN/startup.ini"
    rm -f "$ini"
    login=$(read_setting "${MT5_LOGIN_FILE:-$secrets_dir/mt5_login}" "${MT5_LOGIN:-}")
    server=$(read_setting "${MT5_SERVER_FILE:-$secrets_dir/mt5_server}" "${MT5_SERVER:-}")
    password=$(read_setting "${MT5_PASSWORD_FILE:-$secrets_dir/mt5_password}" "")
    if [ -z "$login$server$password" ]; then
        say "no MT5_LOGIN/MT5_PASSWORD/MT5_SERVER: log in once over VNC (the terminal" \
            "remembers the account)"
        return 0
    fi
    if ! [[ "$login" =~ ^[0-9]{1,20}$ ]] || [ -z "$server" ] || [ -z "$password" ]; then
        say "MT5_LOGIN (digits), MT5_PASSWORD and MT5_SERVER must all be set for an unattended" \
            "login; ignoring them (log in over VNC instead)"
        return 0
    fi
    local algo="${MT5_ALGO_TRADING:-1}" keep="${MT5_SAVE_PASSWORD:-1}"
    [ "$algo" = 1 ] || algo=0
    [ "$keep" = 1 ] || keep=0
    {
        printf '\xff\xfe'
        {
            printf '[Common]\r\n'
            ini_line Login "$login"
            ini_line Password "$password"
            ini_line Server "${MT5_SERVER_ADDRESS:-$server}"
            ini_line KeepPrivate "$keep"
            ini_line NewsEnable 0
            if [ -n "${MT5_PROXY_ADDRESS:-}" ]; then
                ini_line ProxyEnable 1
                ini_line ProxyType "${MT5_PROXY_TYPE:-1}"
                ini_line ProxyAddress "$MT5_PROXY_ADDRESS"
            else
                ini_line ProxyEnable 0
            fi
            printf '[Experts]\r\n'
            ini_line Enabled "$algo"
            ini_line AllowLiveTrading "$algo"
            ini_line AllowDllImport 0
            ini_line Account 0
            ini_line Profile 0
        } | iconv -f UTF-8 -t UTF-16LE
    } >"$ini"
    chmod 0600 "$ini"
    [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$ini"
    say "startup configuration written for account login on server $server" \
        "(algo trading $( [ "$algo" = 1 ] && echo on || echo off ))"
}

seed_prefix() {
    if [ ! -f "$WINEPREFIX/system.reg" ] && [ -d "$template" ]; then
        say "first start: copying the Wine prefix built into the image to $WINEPREFIX"
        mkdir -p "$WINEPREFIX"
        cp -a "$template/." "$WINEPREFIX/"
    fi
    if [ -n "$MT5GW_USER" ] && [ -d "$WINEPREFIX" ] \
            && [ "$(stat -c %u "$WINEPREFIX")" != "$(id -u "$MT5GW_USER")" ]; then
        say "giving $WINEPREFIX to $MT5GW_USER (PUID changed)"
        chown -R "$MT5GW_USER:$MT5GW_USER" "$WINEPREFIX"
    fi
}

prepare_logs() {
    local dir
    for dir in "$MT5GW_LOGS" "$MT5GW_LOGS/terminal-server" "$MT5GW_LOGS/mt5-terminal"; do
        mkdir -p "$dir"
        chmod 0750 "$dir"
        [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$dir"
    done
    if [ -n "${FM_HOME:-}" ]; then  # the web file manager's folder (not all of /config)
        mkdir -p "$FM_HOME"
        [ -z "$MT5GW_USER" ] || chown "$MT5GW_USER:$MT5GW_USER" "$FM_HOME"
    fi
    # Unbounded logs of the old start script.
    rm -f "$MT5GW_LOGS/start-terminal.log" "$MT5GW_LOGS/terminal-server.log"
}

retire_autostart() {
    local autostart="${MT5GW_AUTOSTART:-/config/.config/openbox/autostart}"
    if [ -f "$autostart" ] && grep -q 'start-terminal\.sh' "$autostart"; then
        say "removing the old start-terminal.sh autostart entry (s6 services run it now)"
        sed -i '/start-terminal\.sh/d' "$autostart"
    fi
}

prepare_secrets
write_startup_ini
seed_prefix
prepare_logs
retire_autostart
say "ready"
