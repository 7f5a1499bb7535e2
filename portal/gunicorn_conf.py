"""gunicorn's settings for the portal (`gunicorn -c python:portal.gunicorn_conf wsgi:app`; `flask serve` uses it).

- No `Server` header: gunicorn has no setting for it, so its response's default headers are filtered here.
- gunicorn believes no X-Forwarded-Proto itself: the portal's TRUSTED_PROXIES (portal/proxy.py) is the one place
  that decides which proxy to believe, for the scheme and the client's address alike.
"""

from gunicorn.http import wsgi

secure_scheme_headers: dict[str, str] = {}
forwarded_allow_ips = "127.0.0.1"  # irrelevant with no secure_scheme_headers; kept explicit
control_socket_disable = True  # gunicorn's default is one fixed path in the home folder, shared by two portals

_default_headers = wsgi.Response.default_headers


def _without_server(self) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _without_server
