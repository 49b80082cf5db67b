"""The bare-Flask baseline of the load test: one route answering a short text, no database, no
templates, no extensions. ``run.py`` serves it with ``deploy/gunicorn.conf.py`` (the app's own
gunicorn settings and worker counts), two processes like the topology's."""

from flask import Flask

app = Flask("baseline")


@app.get("/")
def hello():
    return "ok"
