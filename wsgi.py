"""The WSGI entry point: `gunicorn wsgi:app`; also lets `flask` find the app from the project folder."""

from portal import create_app

app = create_app()
