"""gunicorn settings for the app processes (see README, "Production").

Everything here can be overridden by the usual ``GUNICORN_CMD_ARGS`` or command-line flags.
"""

import os

bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("SURVEY_WEB_WORKERS", "2"))
threads = int(os.environ.get("SURVEY_WEB_THREADS", "4"))
worker_class = "gthread"
# A slow client or a long export request must not hold a worker forever; exports are queued.
timeout = int(os.environ.get("SURVEY_WEB_TIMEOUT", "30"))
# On SIGTERM, finish the requests in flight for up to this long before stopping.
graceful_timeout = int(os.environ.get("SURVEY_WEB_GRACEFUL_TIMEOUT", "20"))
keepalive = 5
# Our own request log line replaces gunicorn's access log (it redacts tokens and adds the id).
accesslog = None
errorlog = "-"
max_requests = int(os.environ.get("SURVEY_WEB_MAX_REQUESTS", "0"))
max_requests_jitter = 50


def child_exit(server, worker):
    """Let the Prometheus files of a stopped worker be merged, not counted as live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
