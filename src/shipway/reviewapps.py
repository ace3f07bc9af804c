"""Review apps: the app a pull (merge) request deploys, named ``<app>-pr-<n>`` (issue 13).

Its name must be an app name like any other (a DNS label of at most ``APP_NAME_MAX``
characters, since it prefixes the names of its objects): when ``<app>-pr-<n>`` is longer,
the parent's name is cut and a short hash of the whole name keeps review apps of
different parents (and requests) apart."""

from __future__ import annotations

import hashlib

from shipway.spec.model import APP_NAME_MAX

#: Characters of the hash that stands in for what was cut.
HASH = 6


def name_for(parent: str, number: int) -> str:
    """The review app of request ``number`` of ``parent`` (itself a valid app name)."""
    if number < 1:
        raise ValueError("a request's number is positive")
    full = f"{parent}-pr-{number}"
    if len(full) <= APP_NAME_MAX:
        return full
    suffix = f"-{hashlib.sha256(full.encode()).hexdigest()[:HASH]}-pr-{number}"
    return parent[: APP_NAME_MAX - len(suffix)].rstrip("-") + suffix


def parent_of(name: str, number: int, parents: list[str]) -> str | None:
    """Which of ``parents`` has ``name`` as the review app of request ``number``."""
    return next((p for p in parents if name_for(p, number) == name), None)
