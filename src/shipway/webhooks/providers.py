"""Where each provider puts what a delivery says about itself (issue 13): its signature,
its event and its id, read from the request's headers; and which reader of ``events``
reads its body.

The generic hook is for any other git host or a CI job: GitHub's headers renamed
(``X-Shipway-Signature-256``, ``X-Shipway-Event``, ``X-Shipway-Delivery``) and GitHub's
payloads (a ``push`` is ``{"ref": "refs/heads/main", "after": "<commit>",
"repository": {"clone_url": "https://…"}}``; the event defaults to ``push``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from shipway.webhooks import events, signatures
from shipway.webhooks.deliveries import delivery_id


@dataclass(frozen=True)
class Provider:
    name: str
    #: Headers (lower case): the signature or token, the event, the delivery's id.
    proof: str
    event: str
    delivery: str
    #: Whether ``proof`` is the secret itself (GitLab) rather than an HMAC of the body.
    plain: bool = False
    default_event: str | None = None


PROVIDERS = {
    "github": Provider("github", "x-hub-signature-256", "x-github-event", "x-github-delivery"),
    "gitlab": Provider(
        "gitlab", "x-gitlab-token", "x-gitlab-event", "x-gitlab-event-uuid", plain=True
    ),
    "generic": Provider(
        "generic",
        "x-shipway-signature-256",
        "x-shipway-event",
        "x-shipway-delivery",
        default_event="push",
    ),
}


def verified(provider: Provider, secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Whether the delivery carries the app's secret (GitLab) or its signature."""
    proof = headers.get(provider.proof)
    if provider.plain:
        return signatures.token_matches(secret, proof)
    return signatures.signed(secret, body, proof)


def event_name(provider: Provider, headers: Mapping[str, str]) -> str | None:
    name = headers.get(provider.event) or provider.default_event
    return name[:64] if name else None


def delivery_of(provider: Provider, headers: Mapping[str, str], body: bytes) -> str:
    """The delivery's id; without one, the body's digest (so a replayed body is the same
    delivery)."""
    digest = "sha256-" + hashlib.sha256(body).hexdigest()[:32]
    return delivery_id(headers.get(provider.delivery), digest)


def parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> events.Event:
    """What the delivery asks for (``events.BadDelivery`` when its body is unreadable)."""
    event = event_name(provider, headers)
    if provider.name == "gitlab":
        return events.gitlab(event, body)
    return events.github(event, body)
