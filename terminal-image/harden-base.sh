#!/bin/bash
# Image build step (root): closes what the KasmVNC base image leaves open, and fails the build
# when the base image no longer looks the way this expects (a silent no-op would reopen it).
#   * Xvnc (websocket 6901, `-SecurityTypes None`) listens on the container's loopback only;
#   * kclient (6900, a file manager over /config) listens on the container's loopback only;
#   * the base nginx's HTTPS twin of port 3000 (3001) listens on loopback only;
#   so KasmVNC's nginx on 3000, with basic auth, is the only way in from the network.
#   * the desktop user loses passwordless sudo and the docker group; the base image's
#     kasm-user loses sudo; both passwords are locked;
#   * the openbox autostart is emptied (no xterm; s6 services start MT5 and the server).
# Usage: harden-base.sh [ROOT]   (ROOT=/ in the image; tests run it on a copy of the files)
set -euo pipefail
root="${1:-/}"
root="${root%/}"

edit() {  # edit FILE SED-EXPRESSION MUST-MATCH-AFTER MUST-NOT-MATCH-AFTER
    local file="$root$1"
    if [ ! -f "$file" ]; then
        echo "harden-base: $1 is missing: the base image changed; review this script" >&2
        exit 1
    fi
    sed -i -e "$2" "$file"
    if ! grep -qE -- "$3" "$file" || grep -qE -- "$4" "$file"; then
        echo "harden-base: $1 does not have the expected content after the edit; the base" \
             "image changed; review this script" >&2
        exit 1
    fi
    echo "harden-base: $1 restricted"
}

edit /etc/s6-overlay/s6-rc.d/svc-kasmvnc/run \
    's/-interface[[:space:]]\{1,\}0\.0\.0\.0/-interface 127.0.0.1/' \
    '-interface 127\.0\.0\.1' '0\.0\.0\.0'
edit /kclient/index.js \
    's/http\.listen(6900)/http.listen(6900, "127.0.0.1")/' \
    'http\.listen\(6900, "127\.0\.0\.1"\)' 'http\.listen\(6900\)'
edit /defaults/default.conf \
    's/^\([[:space:]]*\)listen 3001 ssl;/\1listen 127.0.0.1:3001 ssl;/; /listen \[::\]:3001/d' \
    'listen 127\.0\.0\.1:3001 ssl;' '(listen 3001|\[::\]:3001)'

: >"$root/defaults/autostart"

if [ "$root" = "" ]; then
    for user in abc kasm-user; do
        if id "$user" >/dev/null 2>&1; then
            gpasswd -d "$user" sudo >/dev/null 2>&1 || true
            passwd -l "$user" >/dev/null
        fi
    done
    gpasswd -d abc docker >/dev/null 2>&1 || true
    sed -i '/^%sudo[[:space:]].*NOPASSWD/d; /^abc[[:space:]]/d' /etc/sudoers
    rm -f /etc/sudoers.d/abc
    if id -nG abc | grep -qwE 'sudo|docker'; then
        echo "harden-base: abc is still in sudo/docker" >&2
        exit 1
    fi
fi
