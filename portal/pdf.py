"""HTML to PDF with WeasyPrint, in a child process with a wall-clock limit (docs/security.md, 'The PDF sandbox').

huey's thread workers cannot interrupt a task, so a pathological record that makes layout run for minutes
would hold a worker for good: the child is killed at the limit instead. The child fetches nothing but files
under static/pdf/ (none are needed today): no file:// reads, no requests to the intranet.

The child is this file run as a script with `python -P`, so it imports WeasyPrint and nothing of the portal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ALLOWED = (Path(__file__).resolve().parent.parent / "static" / "pdf").resolve()
RENDER_SECONDS = 60


class RenderError(RuntimeError):
    """The child failed or ran out of time; the message says which, never the document's content."""


def allowed_file(url: str) -> Path | None:
    """The file a URL names, if it lies under static/pdf/; anything else (other schemes, ../) is None."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parts.path)).resolve()
    return path if path.is_relative_to(ALLOWED) and path.is_file() else None


def html_to_pdf(html: str) -> bytes:
    """In the child: tagged PDF/UA, fetching only allow-listed files and stopping at any other URL."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError, URLFetcher

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if allowed_file(url) is None:
                raise FatalURLFetchingError(f"refused to fetch {url[:80]!r}: only files under static/pdf/")
            return super().fetch(url, headers)

    return HTML(string=html, base_url=f"{ALLOWED.as_uri()}/", url_fetcher=StaticOnly()).write_pdf(
        pdf_variant="pdf/ua-1"
    )


def render(html: str, seconds: float | None = None) -> bytes:
    """The PDF for `html`, made in a child process that is killed after `seconds` (RENDER_SECONDS)."""
    seconds = RENDER_SECONDS if seconds is None else seconds
    try:
        done = subprocess.run(
            [sys.executable, "-P", __file__],
            input=html.encode("utf-8"),
            capture_output=True,
            timeout=seconds,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise RenderError(f"rendering took longer than {seconds:g} s and was stopped") from error
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF-"):
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise RenderError(f"the renderer failed (exit {done.returncode}): {last[:200]}")
    return done.stdout


if __name__ == "__main__":
    sys.stdout.buffer.write(html_to_pdf(sys.stdin.buffer.read().decode("utf-8")))
