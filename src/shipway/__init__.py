"""Shipway: take an application's source and run it on Kubernetes, Heroku-style."""

__version__ = "0.1.0"
