"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask`` (FLASK_APP=wsgi.py)."""

from calango import load_app

app = load_app()
