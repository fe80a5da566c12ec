#!/usr/bin/env bash
# Install the MT5 gateway's nginx site into the distribution's nginx (Debian, Ubuntu).
#
#   nginx/install.sh --http-only api.example.com   # port 80 only: ACME challenges + redirect
#   nginx/install.sh api.example.com               # both, once the certificate exists
#   nginx -t && systemctl reload nginx
#
# What it does: copies the snippets to $NGINX_ETC/snippets/mt5-gateway/, writes the site files
# (your domain, paths and the http2 syntax of the installed nginx filled in) to
# $NGINX_ETC/sites-available/, links them from sites-enabled/, and unlinks the distro's
# "default" site.  Running it again updates the files (upgrades).  It never reloads nginx.
#
# Settings (environment): NGINX_ETC (/etc/nginx), ACME_ROOT (/var/www/letsencrypt),
# LETSENCRYPT_LIVE (/etc/letsencrypt/live), NGINX (nginx: the binary asked for its version).
set -euo pipefail

NGINX_ETC=${NGINX_ETC:-/etc/nginx}
ACME_ROOT=${ACME_ROOT:-/var/www/letsencrypt}
LETSENCRYPT_LIVE=${LETSENCRYPT_LIVE:-/etc/letsencrypt/live}
NGINX=${NGINX:-nginx}
HERE=$(cd "$(dirname "$0")" && pwd)

die() {
    echo "install.sh: $*" >&2
    exit 1
}

http_only=no
if [[ ${1:-} == --http-only ]]; then
    http_only=yes
    shift
fi
[[ $# -eq 1 ]] || die "usage: install.sh [--http-only] DOMAIN"
domain=$1
label='[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
[[ $domain =~ ^$label(\.$label)*$ ]] || die "not a domain name: $domain"
for path in "$NGINX_ETC" "$ACME_ROOT" "$LETSENCRYPT_LIVE"; do
    [[ $path == /* && $path != *[\|\&\\]* ]] || die "not a plain absolute path: $path"
done
[[ -f $NGINX_ETC/nginx.conf ]] || die "$NGINX_ETC/nginx.conf not found: install nginx first"
if [[ $http_only == no && ! -f $LETSENCRYPT_LIVE/$domain/fullchain.pem ]]; then
    die "no certificate in $LETSENCRYPT_LIVE/$domain: run with --http-only, then certbot first"
fi

# nginx 1.25.1 added `http2 on;` and deprecated `listen ... http2`; older ones know only that.
version=$("$NGINX" -v 2>&1 | sed -n 's|^nginx version: nginx/\([0-9.]*\).*|\1|p')
[[ -n $version ]] || die "cannot read the version of $NGINX"
if [[ $(printf '%s\n' 1.25.1 "$version" | sort -V | head -n 1) == 1.25.1 ]]; then
    http2=(-e 's/^([[:space:]]*listen .*) ssl http2;/\1 ssl;/' -e 's/^([[:space:]]*)#http2 on;/\1http2 on;/')
else
    http2=(-e '/^[[:space:]]*#http2 on;/d')
fi

# Copy $1 to $2 with this host's domain and paths.
render() {
    local tmp
    tmp=$(mktemp "$2.XXXXXX")
    sed -E -e "s|api\\.example\\.com|$domain|g" \
        -e "s|/etc/nginx/|$NGINX_ETC/|g" \
        -e "s|/var/www/letsencrypt|$ACME_ROOT|g" \
        -e "s|/etc/letsencrypt/live/|$LETSENCRYPT_LIVE/|g" \
        "${http2[@]}" "$1" >"$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$2"
}

install -d -m 0755 "$ACME_ROOT" "$NGINX_ETC/snippets/mt5-gateway"
for snippet in proxy.conf security-headers.conf tls.conf errors.conf; do
    render "$HERE/$snippet" "$NGINX_ETC/snippets/mt5-gateway/$snippet"
done

sites=(mt5-gateway-http.conf)
[[ $http_only == yes ]] || sites+=(mt5-gateway.conf)
for site in "${sites[@]}"; do
    render "$HERE/$site" "$NGINX_ETC/sites-available/$site"
    ln -sfn "$NGINX_ETC/sites-available/$site" "$NGINX_ETC/sites-enabled/$site"
    echo "installed $NGINX_ETC/sites-enabled/$site (nginx $version)"
done

# The distro's welcome page would answer names that are not ours on port 80.
if [[ -L $NGINX_ETC/sites-enabled/default ]]; then
    rm -f "$NGINX_ETC/sites-enabled/default"
    echo "disabled the distro's default site"
fi
echo "next: nginx -t && systemctl reload nginx"
