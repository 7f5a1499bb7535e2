"""The machine's ceiling for bench/pages.py: a bare Flask "hello", served by gunicorn exactly as the portal is."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
