#!/bin/bash
# Installs the MetaTrader 5 terminal into $WINEPREFIX when terminal64.exe is missing; does
# nothing when it is there.  Used at image build (build-prefix.sh) and, when the build could
# not install it, by the terminal service on first start.
#
# MetaQuotes' installer starts the terminal when it finishes and, under Wine, `/auto` can also
# spin forever, so this never waits for the installer or for `wineserver -w`.  Each attempt:
#   1. starts `wine mt5setup.exe /auto` in the background;
#   2. polls for terminal64.exe (present, non-empty, same size on two polls) until
#      MT5_INSTALL_TIMEOUT_S;
#   3. kills whatever the attempt left in the prefix (installer, the terminal it started);
# and a failed attempt is retried, MT5_INSTALL_ATTEMPTS times in all.  Exit 0 = installed.
# It holds $MT5_INSTALL_LOCK while it runs (never passed on to Wine's processes), so the
# terminal server, which waits for terminal64.exe, also waits for the last kill of step 3.
#
# Settings: MT5_SETUP_URL, MT5_SETUP_SHA256 (optional: MetaQuotes replaces the file behind the
# URL, so a pin goes stale), MT5_INSTALL_TIMEOUT_S (600), MT5_INSTALL_ATTEMPTS (3),
# MT5_INSTALL_POLL_S (2), MT5_INSTALL_BACKOFF_S (10, between attempts),
# MT5_DOWNLOAD_TIMEOUT_S (300).
set -uo pipefail
export MT5GW_TAG=install-mt5
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"

setup_url="${MT5_SETUP_URL:-https://download.mql5.com/cdn/web/metaquotes.software.corp/mt5/mt5setup.exe}"
timeout_s="${MT5_INSTALL_TIMEOUT_S:-600}"
attempts="${MT5_INSTALL_ATTEMPTS:-3}"
poll_s="${MT5_INSTALL_POLL_S:-2}"

installed() {
    [ -s "$MT5_EXE" ] || return 1
    local size
    size=$(stat -c %s "$MT5_EXE" 2>/dev/null) || return 1
    sleep "$poll_s"
    [ "$size" = "$(stat -c %s "$MT5_EXE" 2>/dev/null)" ]
}

download() {
    local target="$1"
    say "downloading the MetaTrader 5 installer"
    mkdir -p "$(dirname "$target")"
    if ! curl -fsSL --max-time "${MT5_DOWNLOAD_TIMEOUT_S:-300}" --retry 2 -o "$target.part" \
            "$setup_url"; then
        say "download of the installer failed ($setup_url)"
        rm -f "$target.part"
        return 1
    fi
    if [ -n "${MT5_SETUP_SHA256:-}" ] \
            && ! printf '%s  %s\n' "$MT5_SETUP_SHA256" "$target.part" | sha256sum -c --quiet -; then
        say "the installer does not match MT5_SETUP_SHA256; refusing to run it"
        rm -f "$target.part"
        return 1
    fi
    mv "$target.part" "$target"
}

# One attempt; returns 0 when terminal64.exe is in place.
attempt_install() {
    local setup="$1" pid deadline ok=1
    wine "$setup" /auto >>"$MT5GW_LOGS/install-mt5.log" 2>&1 9>&- &
    pid=$!
    deadline=$(( $(now) + timeout_s ))
    while [ "$(now)" -lt "$deadline" ]; do
        if installed; then
            ok=0
            break
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            # The installer ended; the files may land a moment later.
            installed && ok=0
            break
        fi
        sleep "$poll_s"
    done
    [ "$ok" = 0 ] || say "no terminal64.exe after this attempt (timeout ${timeout_s}s)"
    kill -TERM "$pid" 2>/dev/null || true
    kill_prefix 9>&-
    wait "$pid" 2>/dev/null || true
    return "$ok"
}

main() {
    if [ -s "$MT5_EXE" ]; then
        exit 0
    fi
    mkdir -p "$MT5GW_LOGS" "$(dirname "$MT5_INSTALL_LOCK")" || exit 1
    # The lock lives on fd 9 until this script exits; wine and wineserver never inherit it
    # (9>&-), or a terminal the installer started would keep it held.
    if ! { exec 9>>"$MT5_INSTALL_LOCK" && flock 9; }; then
        say "cannot take the install lock $MT5_INSTALL_LOCK"
        exit 1
    fi
    local setup="${MT5_SETUP_CACHE:-$WINEPREFIX/drive_c/mt5setup.exe}" i
    for (( i = 1; i <= attempts; i++ )); do
        say "installing MetaTrader 5, attempt $i of $attempts"
        if [ -s "$setup" ] || download "$setup"; then
            if attempt_install "$setup"; then
                rm -f "$setup"
                say "MetaTrader 5 installed"
                exit 0
            fi
        fi
        [ "$i" -ge "$attempts" ] || sleep "${MT5_INSTALL_BACKOFF_S:-10}"
    done
    rm -f "$setup"
    say "MetaTrader 5 is not installed after $attempts attempts; see $MT5GW_LOGS/install-mt5.log"
    exit 1
}

main "$@"
