#!/bin/bash
# Image build step, as the desktop user under a virtual X display (xvfb-run): builds the Wine
# prefix that init-mt5gw.sh copies into /config on a container's first start, and installs the
# MetaTrader 5 terminal into it when that works at build time.
#
# MT5_INSTALL_AT_BUILD: auto (default: try; if the installer fails, the terminal service
# installs it on first start), required (a failed install fails the build), skip.
# No `wineserver -w` anywhere: it waits for every Wine process, and the MT5 installer leaves
# the terminal running.  wineboot gets a deadline; leftovers are killed.
set -euo pipefail
export MT5GW_TAG=build-prefix
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"

mode="${MT5_INSTALL_AT_BUILD:-auto}"
mkdir -p "$WINEPREFIX" "$MT5GW_LOGS"

say "creating the Wine prefix in $WINEPREFIX"
WINEDLLOVERRIDES="mscoree=;mshtml=" timeout "${MT5GW_WINEBOOT_TIMEOUT_S:-300}" wineboot --init
timeout 120 wine reg add 'HKEY_CURRENT_USER\Software\Wine' /v Version /t REG_SZ /d win10 /f
kill_prefix
[ -f "$WINEPREFIX/system.reg" ] || { say "wineboot did not create the prefix"; exit 1; }

# wineboot links the user's folders to $HOME, which is a different directory at run time
# (/config): keep them inside the prefix instead.
find "$WINEPREFIX/drive_c/users" -mindepth 2 -maxdepth 2 -type l -print0 \
    | while IFS= read -r -d '' link; do rm -f "$link"; mkdir -p "$link"; done

case "$mode" in
    skip) say "MetaTrader 5 will be installed on the container's first start" ;;
    required) "$(dirname "$0")/install-mt5.sh" ;;
    *)
        if ! "$(dirname "$0")/install-mt5.sh"; then
            say "MetaTrader 5 did not install at build time; the terminal service installs it" \
                "on the container's first start"
        fi
        ;;
esac
kill_prefix
rm -rf "$MT5GW_LOGS"
