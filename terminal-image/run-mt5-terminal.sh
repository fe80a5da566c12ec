#!/bin/bash
# s6 longrun `svc-mt5-terminal`: the MetaTrader 5 terminal in the foreground, so s6 restarts it
# when it dies.  Installs it first when the image build could not (install-mt5.sh: timeout,
# poll, kill, retry).  Logs in unattended with the startup configuration init-mt5gw.sh wrote.
#
# The terminal restarts itself after a live update: the process s6 started exits and a new one
# runs detached.  Starting a second copy then would fight it, so while a terminal runs this
# script only waits for it to end, and s6 starts a fresh one after that.
set -uo pipefail
export MT5GW_TAG=mt5-terminal
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"
mt5gw_drop_root "$0" "$@"

poll_s="${MT5GW_POLL_S:-2}"

wait_for_display() {
    [ -n "${DISPLAY:-}" ] || return 0
    local socket="/tmp/.X11-unix/X${DISPLAY#:}" deadline
    deadline=$(( $(now) + ${MT5GW_DISPLAY_WAIT_S:-120} ))
    until [ -S "$socket" ]; do
        if [ "$(now)" -ge "$deadline" ]; then
            say "no X display $DISPLAY yet"
            return 1
        fi
        sleep "$poll_s"
    done
}

main() {
    if ! wait_for_display; then
        exit 1
    fi
    if ! "$(dirname "$0")/install-mt5.sh"; then
        say "MetaTrader 5 is not installed; s6 retries after a pause"
        sleep "${MT5GW_RETRY_PAUSE_S:-60}"
        exit 1
    fi
    if terminal_running; then
        say "a terminal is already running (it restarted itself); waiting for it to end"
        while terminal_running; do
            sleep "$poll_s"
        done
        exit 0
    fi
    local args=()
    if [ -s "$MT5GW_RUN/startup.ini" ]; then
        args+=("/config:$(winpath "$MT5GW_RUN/startup.ini")")
    fi
    say "starting the MetaTrader 5 terminal"
    exec wine "$MT5_EXE" "${args[@]}"
}

main "$@"
