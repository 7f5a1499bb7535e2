"""Static files at versioned URLs. `url_for('static', ...)` adds `?v=` with a hash of the file's content; only
such a URL may be cached for a year, so after an upgrade browsers fetch the new CSS and JavaScript at once.
An unversioned or stale URL (the fonts and images GOV.UK Frontend's CSS names) is revalidated each time."""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, request
from werkzeug.security import safe_join

A_YEAR = 365 * 24 * 3600


def init_static_versions(app: Flask) -> None:
    known: dict[tuple[str, int, int], str] = {}  # by name, mtime and size: an edited file gets a new hash

    def version_of(filename: str) -> str:
        path = safe_join(str(app.static_folder), filename)
        if path is None or not Path(path).is_file():
            return ""
        stat = Path(path).stat()
        key = (filename, stat.st_mtime_ns, stat.st_size)
        if key not in known:
            known[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        return known[key]

    @app.url_defaults
    def _versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = version_of(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def _cache(response: Response) -> Response:
        if request.endpoint == "static" and response.status_code in (200, 304):
            current = version_of((request.view_args or {}).get("filename", ""))
            if current and request.args.get("v") == current:
                response.headers["Cache-Control"] = f"public, max-age={A_YEAR}, immutable"
            else:
                response.headers["Cache-Control"] = "no-cache"
        return response
