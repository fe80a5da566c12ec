#!/bin/bash
# Several gateway replicas behind the site's nginx: rewrites the servers of the
# `upstream mt5_gateway` block in the site that nginx/install.sh installed, keeping its
# keep-alive settings.  Run it again after every nginx/install.sh (which writes one server).
#
#   deploy/compose-two-host/nginx-upstreams.sh 127.0.0.1:8000 127.0.0.1:8010
#   nginx -t && systemctl reload nginx
#
# Each replica gets `max_fails=1 fail_timeout=10s`: after a failed connection nginx leaves it
# alone for 10 s.  A request whose connection fails goes to the other replica (nginx's
# default proxy_next_upstream); an order already sent to a replica is never sent twice
# (nginx does not retry non-idempotent requests that reached an upstream).
# Settings: NGINX_ETC (/etc/nginx), as for nginx/install.sh.
#
# Round robin, as nginx does by default.  The replicas lease the terminals in PostgreSQL and
# forward a request for an account the other one's terminal holds (REPLICA_* in host-a.yml),
# so any spreading is correct; a crossing costs a hop (an account read: p50 7-13 ms forwarded
# against 2.6-5 ms direct, bench/replicas_bench.py).  To keep each credential on one replica,
# add `hash $http_authorization consistent;` by hand inside the upstream block, before its
# `keepalive` line: this script keeps it, nginx/install.sh does not.  The WebSocket streams,
# which send no Authorization header, then all reach one replica (correct, since events travel
# between replicas, but unbalanced).
set -euo pipefail

NGINX_ETC=${NGINX_ETC:-/etc/nginx}
site="$NGINX_ETC/sites-available/mt5-gateway.conf"

[ $# -ge 1 ] || { sed -n '2,8p' "$0" >&2; exit 64; }
servers=""
for address in "$@"; do
    if ! [[ "$address" =~ ^([0-9.]+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$ ]] \
            || [ "${BASH_REMATCH[2]}" -lt 1 ] || [ "${BASH_REMATCH[2]}" -gt 65535 ]; then
        echo "nginx-upstreams.sh: not host:port: $address" >&2
        exit 64
    fi
    servers+="    server $address max_fails=1 fail_timeout=10s;"$'\n'
done
[ -f "$site" ] || { echo "nginx-upstreams.sh: $site not found: run nginx/install.sh first" >&2; exit 66; }
[ "$(grep -c '^upstream mt5_gateway {' "$site")" = 1 ] \
    || { echo "nginx-upstreams.sh: no single 'upstream mt5_gateway {' in $site" >&2; exit 65; }

tmp=$(mktemp "$site.XXXXXX")
trap 'rm -f "$tmp"' EXIT
SERVERS="$servers" awk '
    /^upstream mt5_gateway \{/ { print; printf "%s", ENVIRON["SERVERS"]; inside = 1; next }
    inside && /^\}/ { inside = 0 }
    inside && /^[[:space:]]*server[[:space:]]/ { next }
    { print }
' "$site" >"$tmp"
chmod --reference="$site" "$tmp"
mv -f "$tmp" "$site"
trap - EXIT
echo "$site: upstream mt5_gateway -> $*"
echo "next: nginx -t && systemctl reload nginx"
