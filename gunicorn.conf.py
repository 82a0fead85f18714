"""Production server settings: threaded workers, since a request mostly waits on the database."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
wsgi_app = "app:create_app()"
accesslog = None
forwarded_allow_ips = "*" if int(os.environ.get("PROXY_COUNT", "0")) > 0 else "127.0.0.1"
