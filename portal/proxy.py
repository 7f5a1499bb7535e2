"""Behind a reverse proxy: believe its X-Forwarded-* headers (client address, https, host) from it alone.

`TRUSTED_PROXIES` is either a number of proxies in front of the portal (each appends to X-Forwarded-For), or the
proxies' addresses or networks, comma-separated (one proxy; headers from any other peer are ignored). Unset, no
forwarded header is believed: a client could otherwise claim any address and defeat the sign-in log.
"""

from __future__ import annotations

import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class FromTrustedProxies:
    """ProxyFix for one hop, applied only when the peer is one of the proxies."""

    def __init__(self, app, networks: list[Network]) -> None:
        self.plain, self.networks = app, networks
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=1)

    def __call__(self, environ, start_response):
        try:
            peer = ipaddress.ip_address(environ.get("REMOTE_ADDR", ""))
        except ValueError:
            return self.plain(environ, start_response)
        trusted = any(peer in network for network in self.networks)
        return (self.fixed if trusted else self.plain)(environ, start_response)


def parse_trusted_proxies(value: str) -> int | list[Network]:
    """A hop count, or a list of networks; anything else is a ConfigError naming the bad part."""
    value = value.strip()
    if value.isdigit():
        return int(value)
    networks = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"TRUSTED_PROXIES: {part!r} is neither a number of proxies nor an IP address or network "
                "(e.g. TRUSTED_PROXIES=1 or TRUSTED_PROXIES=10.0.0.5,10.0.1.0/24)"
            ) from None
    return networks


def trust_proxies(wsgi_app, value: str):
    """The app wrapped to read forwarded headers as `value` says; unchanged when it is empty or 0."""
    trusted = parse_trusted_proxies(value or "")
    if not trusted:
        return wsgi_app
    if isinstance(trusted, int):
        return ProxyFix(wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted, x_port=trusted)
    return FromTrustedProxies(wsgi_app, trusted)
