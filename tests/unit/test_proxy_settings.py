"""TRUSTED_PROXIES: forwarded headers are believed from the proxies named, and from no one when it is unset."""

from __future__ import annotations

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from portal.config import ConfigError
from portal.proxy import trust_proxies

FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "portal.example"}


def seen_through(setting: str, peer: str) -> tuple[str, str, str]:
    """(client address, scheme, host) as the portal sees a request from `peer` carrying FORWARDED."""
    seen = {}

    def app(environ, start_response):
        request = Request(environ)
        seen["values"] = (request.remote_addr, request.scheme, request.host)
        start_response("204 No Content", [])
        return []

    environ = EnvironBuilder(path="/", headers=FORWARDED, environ_base={"REMOTE_ADDR": peer}).get_environ()
    list(trust_proxies(app, setting)(environ, lambda *a: None))
    return seen["values"]


@pytest.mark.parametrize(
    ("setting", "peer", "expected"),
    [
        ("", "10.0.0.5", ("10.0.0.5", "http", "localhost")),
        ("0", "10.0.0.5", ("10.0.0.5", "http", "localhost")),
        ("1", "10.0.0.5", ("203.0.113.9", "https", "portal.example")),
        ("10.0.0.5", "10.0.0.5", ("203.0.113.9", "https", "portal.example")),
        ("10.0.1.0/24, 10.0.0.5", "10.0.1.7", ("203.0.113.9", "https", "portal.example")),
        ("10.0.0.5", "10.0.0.6", ("10.0.0.6", "http", "localhost")),
    ],
)
def test_forwarded_headers_are_believed_only_from_the_trusted_proxies(setting, peer, expected):
    assert seen_through(setting, peer) == expected


def test_a_setting_that_is_neither_a_count_nor_addresses_says_what_to_write():
    with pytest.raises(ConfigError, match=r"TRUSTED_PROXIES: 'nginx' is neither .* TRUSTED_PROXIES=1"):
        trust_proxies(lambda e, s: [], "nginx")
