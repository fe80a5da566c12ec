"""Which URLs a webhook may target: never this host, a private network or a cloud metadata
service (unless ``webhook_allow_private_targets``), and in production https only (unless
private targets are allowed: private networks often speak plain http).

The host is resolved when the endpoint is made and again before every delivery (a name that
later points somewhere private is caught then); every address it resolves to must be public.
Redirects are never followed (the delivery client has ``follow_redirects=False``): a 3xx is a
failed attempt.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

MAX_URL = 2048
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
# Shared address space (RFC 6598; Alibaba's metadata service is 100.100.100.200), benchmarking
# and the IETF protocol block: not "private" to the ipaddress module, not public either.
EXTRA_BLOCKED = tuple(
    ipaddress.ip_network(n) for n in ("100.64.0.0/10", "198.18.0.0/15", "192.0.0.0/24")
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    pass


def parse(url: str, *, https_only: bool) -> httpx.URL:
    if len(url) > MAX_URL:
        raise TargetRefused(f"URL longer than {MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise TargetRefused("not a valid URL") from None
    allowed = ("https",) if https_only else ("https", "http")
    if parsed.scheme not in allowed:
        raise TargetRefused(f"the URL must use {' or '.join(allowed)}")
    if not parsed.host:
        raise TargetRefused("the URL has no host")
    if parsed.userinfo:
        raise TargetRefused("credentials in the URL are not accepted")
    return parsed


def refused_address(address: Address) -> str | None:
    """Why ``address`` may not be a target, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local (cloud metadata services live here)"
    if address.is_private or any(address in net for net in EXTRA_BLOCKED):
        return "private network"
    if address.is_multicast or address.is_reserved or address.is_unspecified:
        return "not a unicast public address"
    return None


async def check(url: str, *, allow_private: bool, https_only: bool) -> httpx.URL:
    """The parsed URL, or :class:`TargetRefused` saying why not. ``allow_private`` (tests, a
    private network) also allows plain http in production."""
    parsed = parse(url, https_only=https_only and not allow_private)
    if allow_private:
        return parsed
    host = parsed.host.strip("[]").lower()
    if host in METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        raise TargetRefused(f"{host} is not an allowed target")
    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80))
    for address in addresses:
        why = refused_address(address)
        if why is not None:
            raise TargetRefused(f"{host} resolves to a {why} address")
    return parsed


async def _resolve(host: str, port: int) -> list[Address]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise TargetRefused(f"{host} does not resolve") from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]
