#!/bin/bash
# s6 logger of one of our services (s6-rc pipeline consumer): rotates by size into
# $MT5GW_LOGS/<name>/ (`current` plus at most LOG_KEEP_FILES archives of LOG_MAX_BYTES each)
# and copies every line to the container's output (`docker compose logs`, bounded by the
# compose logging options).
set -uo pipefail
export MT5GW_TAG=log
# shellcheck source=mt5gw-lib.sh
. "$(dirname "$0")/mt5gw-lib.sh"
mt5gw_drop_root "$0" "$@"

name="${1:?usage: run-log.sh NAME}"
mkdir -p "$MT5GW_LOGS/$name"
exec s6-log -b -- n"${LOG_KEEP_FILES:-5}" s"${LOG_MAX_BYTES:-1000000}" "$MT5GW_LOGS/$name" 1
