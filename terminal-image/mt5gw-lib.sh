# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Shared by the terminal image's scripts (sourced, never run).  Every path is an environment
# setting with the image's value as default, so the tests run the same scripts on a temp tree
# with fake `wine`/`wineserver` binaries on PATH.
#
# Nothing here ever prints a secret: messages name files, never their contents.

MT5GW_HOME="${MT5GW_HOME:-/opt/mt5gw}"
MT5GW_RUN="${MT5GW_RUN:-/run/mt5gw}"            # secrets and the startup ini, owned by the user
MT5GW_LOGS="${MT5GW_LOGS:-/config/logs}"
MT5GW_USER="${MT5GW_USER-abc}"                  # "" = stay who we are (tests)
export WINEPREFIX="${WINEPREFIX:-/config/.wine}" WINEARCH="${WINEARCH:-win64}"
export WINEDEBUG="${WINEDEBUG:--all}"
MT5_DIR="$WINEPREFIX/drive_c/Program Files/MetaTrader 5"
MT5_EXE="$MT5_DIR/terminal64.exe"
MT5_EXE_WIN='C:\Program Files\MetaTrader 5\terminal64.exe'
# install-mt5.sh holds this lock (flock) for as long as it runs; see install_running.
MT5_INSTALL_LOCK="${MT5_INSTALL_LOCK:-$WINEPREFIX/.mt5gw-install.lock}"

say() {
    printf '[%s] %s\n' "${MT5GW_TAG:-mt5gw}" "$*" >&2
}

# Re-run the calling script as the desktop user when started as root (s6 starts services as
# root; Wine refuses a prefix owned by someone else).
mt5gw_drop_root() {
    if [ "$(id -u)" = 0 ] && [ -n "$MT5GW_USER" ]; then
        exec s6-setuidgid "$MT5GW_USER" "$@"
    fi
}

# The Windows path of a Linux path: Wine maps / to drive Z:.
winpath() {
    printf 'Z:%s' "${1//\//\\}"
}

# Seconds since the epoch (bash builtin, no fork).
now() {
    printf '%(%s)T' -1
}

# Pids of this user's processes in this Wine prefix (WINEPREFIX in their environment) that
# RUN one of the programs named by the pattern: the program is the command (Windows processes
# show their own path as argv[0]) or what `wine` was asked to start, never a mere argument
# (the terminal server gets terminal64.exe as --mt5-path and must not count as a terminal).
prefix_pids() {
    local pid arg i args
    for pid in $(pgrep -u "$(id -u)" -f "$1"); do
        tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "WINEPREFIX=$WINEPREFIX" \
            || continue
        mapfile -d '' -t args 2>/dev/null <"/proc/$pid/cmdline" || continue
        for (( i = 0; i < 3 && i < ${#args[@]}; i++ )); do
            arg="${args[i]##*[\\/]}"
            if [[ "$arg" =~ ^($1)$ ]]; then
                echo "$pid"
                break
            fi
        done
    done
}

# True while a MetaTrader 5 terminal runs in this prefix (the installer starts one when it
# finishes, and the terminal restarts itself after a live update).
terminal_running() {
    [ -n "$(prefix_pids 'terminal64\.exe')" ]
}

# True while install-mt5.sh runs in this prefix.  It ends every attempt by killing the whole
# prefix (kill_prefix), after terminal64.exe has appeared: whatever Windows program starts
# because that file is there (the terminal server) must wait until this is false.
install_running() {
    [ -e "$MT5_INSTALL_LOCK" ] || return 1
    flock -n -s "$MT5_INSTALL_LOCK" true 2>/dev/null
    [ "$?" = 1 ]  # 1: the installer holds it; 0: free; other: unreadable, do not wait on it
}

# Kill everything running in this Wine prefix, bounded: `wineserver -k` can itself stall
# when a process is wedged, so it gets a deadline and the leftovers get SIGKILL.
kill_prefix() {
    local pids
    timeout "${MT5GW_KILL_TIMEOUT_S:-20}" wineserver -k >/dev/null 2>&1 || true
    pids=$(prefix_pids 'terminal64\.exe|mt5setup\.exe|metaeditor64\.exe')
    # shellcheck disable=SC2086  # one pid per word
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
}
