#!/bin/bash
# Runs in the KasmVNC desktop session (user abc) of the real terminal image, on every start:
#   1. creates the Wine prefix in /config on first start (Windows 10 mode, no Mono/Gecko popups);
#   2. installs the MetaTrader 5 terminal on first start (mt5setup.exe; it downloads the terminal);
#   3. starts the terminal (log in once by hand over VNC, "save password"; it remembers);
#   4. runs our restricted terminal server in Windows Python 3.9, restarting it if it exits.
# Settings: TERMINAL_PORT (8001), TERMINAL_SECRET_FILE (/run/secrets/terminal_secret, required),
# MT5_SETUP_URL, LOG_LEVEL.  Log: /config/logs/terminal-server.log.
set -uo pipefail

export WINEPREFIX="${WINEPREFIX:-/config/.wine}" WINEARCH=win64 WINEDEBUG="${WINEDEBUG:--all}"
port="${TERMINAL_PORT:-8001}"
secret_file="${TERMINAL_SECRET_FILE:-/run/secrets/terminal_secret}"
setup_url="${MT5_SETUP_URL:-https://download.mql5.com/cdn/web/metaquotes.software.corp/mt5/mt5setup.exe}"
mt5_dir="$WINEPREFIX/drive_c/Program Files/MetaTrader 5"
mt5_exe="$mt5_dir/terminal64.exe"
python_exe=/opt/winpython/python.exe
logs=/config/logs
mkdir -p "$logs"

say() { echo "[start-terminal] $*" | tee -a "$logs/start-terminal.log"; }

if [ ! -r "$secret_file" ]; then
    say "no readable secret at $secret_file: mount the terminal_secret docker secret; not starting"
    exit 1
fi

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    say "creating the Wine prefix in $WINEPREFIX"
    WINEDLLOVERRIDES="mscoree=;mshtml=" wineboot --init
    wineserver -w
    winecfg -v win10
    wineserver -w
fi

if [ ! -f "$mt5_exe" ]; then
    say "installing MetaTrader 5 (first start; needs internet)"
    curl -fsSL -o /config/mt5setup.exe "$setup_url" || { say "download of mt5setup.exe failed"; exit 1; }
    wine /config/mt5setup.exe /auto
    wineserver -w
    rm -f /config/mt5setup.exe
    [ -f "$mt5_exe" ] || { say "MetaTrader 5 did not install ($mt5_exe missing)"; exit 1; }
fi

say "starting the MetaTrader 5 terminal"
wine "$mt5_exe" &

# Wine maps the Linux root to drive Z:, so Linux paths are passed as Z:/...
delay=2
while true; do
    say "starting the terminal server on port $port"
    started=$(date +%s)
    wine "$python_exe" -m terminal_server --backend real \
        --host 0.0.0.0 --allow-remote --port "$port" \
        --auth-secret-file "Z:$secret_file" \
        --mt5-path 'C:\Program Files\MetaTrader 5\terminal64.exe' \
        --log-level "${LOG_LEVEL:-INFO}" >> "$logs/terminal-server.log" 2>&1
    status=$?
    # Back off while it keeps failing fast; reset once it has run for a while.
    if [ $(( $(date +%s) - started )) -gt 60 ]; then delay=2; else delay=$(( delay < 60 ? delay * 2 : 60 )); fi
    say "terminal server exited with status $status; restarting in ${delay}s"
    sleep "$delay"
done
