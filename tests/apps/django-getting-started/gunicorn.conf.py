"""Gunicorn reads this file by default (it is named gunicorn.conf.py)."""

import os

# The platform says which port to use; [::] accepts IPv6 and IPv4 connections.
bind = ["[::]:{}".format(os.environ.get("PORT", "5006"))]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = 4
preload_app = True
timeout = 20
accesslog = "-"
