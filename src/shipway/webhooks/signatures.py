"""Whether a webhook delivery comes from who it says.

GitHub signs the raw body with the app's webhook secret (``X-Hub-Signature-256:
sha256=<HMAC-SHA256 hex>``), as does Shipway's generic hook (``X-Shipway-Signature-256``,
same format); GitLab sends the secret itself (``X-Gitlab-Token``). Every comparison is
constant-time and made on bytes, so a header with odd characters is a mismatch, never an
error; a body is checked as received, before anything parses it."""

from __future__ import annotations

import hashlib
import hmac

#: The prefix of a signature header's value.
SCHEME = "sha256="
#: The longest header value looked at (a signature is 71 characters).
MAX_HEADER = 512


def signature(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=`` and the HMAC-SHA256 in hex."""
    return SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (GitHub's ``X-Hub-Signature-256``, or the generic hook's) is
    ``body``'s signature with ``secret``. An empty secret verifies nothing."""
    if not secret or not header or len(header) > MAX_HEADER:
        return False
    return hmac.compare_digest(_raw(signature(secret, body)), _raw(header.strip()))


def token_matches(secret: str, header: str | None) -> bool:
    """Whether ``header`` (GitLab's ``X-Gitlab-Token``) is ``secret``."""
    if not secret or not header or len(header) > MAX_HEADER:
        return False
    return hmac.compare_digest(_raw(secret), _raw(header))


def _raw(text: str) -> bytes:
    # Any character a header may carry, none raising: a stray byte only fails the match.
    return text.encode("utf-8", "surrogateescape")
