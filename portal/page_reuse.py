"""A page rendered for one person is served to them again, as it was, while nothing it shows has changed: the
same address, the same sign-in, the same data version (portal/data_version.py), for at most PAGE_REUSE_SECONDS.

Reloading the inbox or a busy case page then costs the access checks and the audit writes, not the queries and
the rendering (docs/performance.md, "Serving a page again"). What follows the clock alone (an "Overdue" tag, the
sweep's late banner) is at most PAGE_REUSE_SECONDS behind. Each response gets a fresh CSP nonce."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask import current_app, g, request, session
from flask_login import current_user

from portal.data_version import data_version
from portal.models import utcnow
from portal.security import csp_nonce

STORE_BYTES = 32 * 2**20  # per process: an inbox page is about 60 KB


class PageStore:
    """Least recently used pages first out, within STORE_BYTES."""

    def __init__(self, seconds: int):
        self.lifetime = dt.timedelta(seconds=seconds)
        self._pages: OrderedDict[tuple, tuple[dt.datetime, str, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, now: dt.datetime) -> tuple[str, str] | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None:
                return None
            made, body, nonce = found
            if not made <= now < made + self.lifetime:  # the clock may also have moved back (tests travel)
                self._drop(key)
                return None
            self._pages.move_to_end(key)
            return body, nonce

    def put(self, key: tuple, now: dt.datetime, body: str, nonce: str) -> None:
        with self._lock:
            if key in self._pages:
                self._drop(key)
            self._pages[key] = (now, body, nonce)
            self._bytes += len(body)
            while self._bytes > STORE_BYTES:
                self._drop(next(iter(self._pages)))

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._pages.pop(key)[1])


# The routes whose pages may be served again: the version is read as their request starts (_version_first).
ENDPOINTS = frozenset({"inbox.cases", "inbox.documents", "inbox.learning", "cases.case"})


def _version_first() -> None:
    """Before anything the page shows is read, the signed-in user included. `served_again` reads it again: only
    when nothing has changed in between were the user and the case read at this version."""
    if request.endpoint in ENDPOINTS and request.method == "GET":
        g.page_version = data_version()


def served_again(render: Callable[[], str | tuple[str, int]]) -> str | tuple[str, int]:
    """`render()`'s page, or the one it gave this person in this session at this address while nothing has changed
    since. Call it after the route's access checks and audit writes: only the rendering is skipped. A page answered
    with a status of its own (a 400 for bad filters) is not kept."""
    store: PageStore | None = current_app.extensions.get("page_reuse")
    secret, version = session.get("csrf_token"), g.get("page_version")
    if store is None or secret is None or version is None or "_flashes" in session:
        return render()
    if data_version() != version:  # a change since the request started (its own view record, or another's)
        return render()
    key = (request.full_path, current_user.get_id(), secret, version)
    now = utcnow()
    found = store.get(key, now)
    if found is not None:
        body, nonce = found
        return body.replace(nonce, csp_nonce())
    before = dict(session)
    answer = render()
    body, status = answer if isinstance(answer, tuple) else (answer, 200)
    # A page that changed the session (a flash shown, a token made) is not kept.
    if status == 200 and dict(session) == before:
        store.put(key, now, body, csp_nonce())
    return answer


def init_page_reuse(app) -> None:
    seconds = app.config["PAGE_REUSE_SECONDS"]
    if seconds > 0:
        app.extensions["page_reuse"] = PageStore(seconds)
        app.before_request_funcs.setdefault(None, []).insert(0, _version_first)  # before the session's user
