"""Debian's nginx with deploy/nginx.conf and a self-signed certificate, in front of gunicorn on loopback.

nginx runs as a process of this test with its own prefix and configuration (never the system service); the
shipped site file is used as written, with only its ports, paths and certificate swapped for the test's. Through
the proxy: HTTPS sign-in, HSTS, secure cookies, the strict Referer check, the client's address in the sign-in
log, the static files and the upload limit; and a client that speaks to gunicorn directly cannot forge its address.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest

from portal.cli import upgrade_database
from portal.db import database, init_database
from tests import factories
from tests.conftest import TEST_PROCEDURE
from tests.processes import wait_for

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CLIENT = "127.0.0.2"  # the browser's address: loopback, but not the proxy's
pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (.ci/system-packages)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def site_config(tls_port: int, plain_port: int, app_port: int, folder: Path) -> str:
    """deploy/nginx.conf with the test's ports, certificate, static folder and log file."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{plain_port};",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "/etc/ssl/escalation-portal/fullchain.pem": str(folder / "cert.pem"),
        "/etc/ssl/escalation-portal/privkey.pem": str(folder / "key.pem"),
        "/srv/escalation-portal/static/": f"{ROOT / 'static'}/",
        "/var/log/nginx/escalation-portal.access.log": str(folder / "access.log"),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}"
        text = text.replace(old, new)
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line)


@pytest.fixture
def proxied(tmp_path):
    """gunicorn (production settings) and nginx in front of it; yields (nginx's TLS port, gunicorn's port, log)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    database_url = f"sqlite:///{data / 'portal.db'}"
    init_database(database_url)
    upgrade_database()
    with database.connection_context():
        factories.world()
        user = factories.user(email="proxy.user@agency.example")
    database.close()

    tls_port, plain_port, app_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "MAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),
        "DATABASE_URL": database_url,
        "HUEY_URL": f"sqlite:///{data / 'huey.db'}",
        "HUEY_NAME": f"escalation-portal-test-{uuid.uuid4().hex[:12]}",
        "PORTAL_INSTANCE": str(tmp_path / "instance"),
        "PORTAL_PROCEDURE": TEST_PROCEDURE,
        "BASE_URL": f"https://localhost:{tls_port}",
        "TRUSTED_PROXIES": "127.0.0.1",
        "HOME": str(tmp_path / "home"),
        "PYTHONUNBUFFERED": "1",
    }
    app_log, nginx_log = tmp_path / "gunicorn.log", tmp_path / "error.log"
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "site.conf").write_text(site_config(tls_port, plain_port, app_port, tmp_path))
    user_line = "user root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(
        f"""{user_line}
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {nginx_log} info;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {prefix / "body"};
    proxy_temp_path {prefix / "proxy"};
    fastcgi_temp_path {prefix / "fastcgi"};
    uwsgi_temp_path {prefix / "uwsgi"};
    scgi_temp_path {prefix / "scgi"};
    include {prefix / "site.conf"};
}}
"""
    )
    processes = []
    try:
        with open(app_log, "wb") as out:
            processes.append(
                subprocess.Popen(
                    [str(ROOT / ".venv/bin/gunicorn"), "--config", "python:portal.gunicorn_conf", "--workers", "1",
                     "--bind", f"127.0.0.1:{app_port}", "wsgi:app"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )  # fmt: skip
        checked = subprocess.run(
            [NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(nginx_log)],
            capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        processes.append(
            subprocess.Popen(
                [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(nginx_log),
                 "-g", "daemon off;"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        )  # fmt: skip
        wait_for(lambda: answers(app_port), "gunicorn", app_log)
        wait_for(lambda: answers(tls_port), "nginx", nginx_log)
        yield tls_port, app_port, app_log, user
    finally:
        for process in reversed(processes):  # only the processes this test started, each by its own id
            if process.poll() is None:
                process.send_signal(signal.SIGTERM if process is processes[0] else signal.SIGQUIT)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


class Browser:
    """HTTP/1.1 from CLIENT's address, keeping cookies as a browser would (Secure ones only over HTTPS)."""

    def __init__(self, port: int, tls: bool) -> None:
        self.port, self.tls, self.cookies = port, tls, {}
        self.origin = f"https://localhost:{port}" if tls else f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # self-signed for the test
            connection = http.client.HTTPSConnection(
                "127.0.0.1", self.port, context=context, source_address=(CLIENT, 0), timeout=30
            )
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(CLIENT, 0), timeout=30)
        headers = {"Host": f"localhost:{self.port}", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        connection.close()
        return response

    def sign_in(self, email: str, referer: str | None):
        page = self.request("GET", "/sign-in")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        form = urlencode({"csrf_token": token, "email": email, "password": factories.PASSWORD}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if referer is not None:
            headers["Referer"] = referer
        return self.request("POST", "/sign-in", form, headers)


def test_through_nginx_the_portal_knows_it_is_on_https_and_who_the_client_is(proxied):
    tls_port, _app_port, app_log, user = proxied
    browser = Browser(tls_port, tls=True)

    page = browser.request("GET", "/sign-in")
    assert page.status == 200
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "gunicorn" not in (page.headers.get("Server") or "")
    (cookie,) = page.headers.get_all("Set-Cookie")
    assert cookie.startswith("__Host-portal=") and "Secure" in cookie and "HttpOnly" in cookie

    without = browser.sign_in(user.email, referer=None)
    assert without.status == 400 and "did not say which page the form came from" in without.text
    elsewhere = browser.sign_in(user.email, referer="https://evil.example/sign-in")
    assert elsewhere.status == 400
    signed_in = browser.sign_in(user.email, referer=f"https://localhost:{tls_port}/sign-in")
    assert signed_in.status == 302, signed_in.text[:500]
    assert signed_in.headers["Location"] in ("/cases/", f"https://localhost:{tls_port}/cases/")
    assert browser.request("GET", "/cases/").status == 200
    logged = f"password accepted user_id={user.id} ip={CLIENT}"
    wait_for(lambda: logged in app_log.read_text(), "the sign-in log line", app_log)

    versioned = browser.request("GET", "/static/css/portal.css?v=0123456789ab")
    assert versioned.status == 200 and versioned.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert browser.request("GET", "/static/css/portal.css").headers["Cache-Control"] == "no-cache"
    link = "/a/" + "T" * 43
    browser.request("GET", link)
    access_log = app_log.parent / "access.log"
    wait_for(lambda: "/a/[token]" in access_log.read_text(), "the capability link's access log line", access_log)
    assert link not in access_log.read_text()
    too_big = browser.request("POST", "/sign-in", b"x" * (3 * 1024 * 1024), {"Content-Type": "text/plain"})
    assert too_big.status == 413


def test_a_client_speaking_to_gunicorn_directly_cannot_claim_another_address(proxied):
    _tls_port, app_port, app_log, user = proxied
    browser = Browser(app_port, tls=False)
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}

    page = browser.request("GET", "/sign-in", headers=forged)
    assert "Strict-Transport-Security" not in page.headers and "Server" not in page.headers
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    form = urlencode({"csrf_token": token, "email": user.email, "password": "wrong password"}).encode()
    browser.request("POST", "/sign-in", form, {"Content-Type": "application/x-www-form-urlencoded", **forged})

    wait_for(lambda: f"user_id={user.id} ip={CLIENT}" in app_log.read_text(), "the failed sign-in log line", app_log)
    assert "203.0.113.9" not in app_log.read_text()
