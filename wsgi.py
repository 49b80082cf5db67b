"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from survey_app import create_app

app = create_app()

# What is loaded by now (modules, the app, its config) lives as long as the worker: move it out
# of the cyclic collector's reach, so a full collection scans only what requests create
# (https://docs.python.org/3/library/gc.html#gc.freeze).
gc.freeze()
