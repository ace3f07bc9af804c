"""Webhook signatures: GitHub's documented test vector, and every way a delivery's
header can be wrong (each one a plain mismatch, never an error)."""

from __future__ import annotations

import pytest

from shipway.webhooks import signatures as webhooks

#: From GitHub's "Validating webhook deliveries" ("Testing the webhook payload validation").
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_githubs_documented_vector() -> None:
    assert webhooks.signature(GITHUB_SECRET, GITHUB_BODY) == GITHUB_SIGNATURE
    assert webhooks.signed(GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE)
    assert webhooks.signed(GITHUB_SECRET, GITHUB_BODY, f" {GITHUB_SIGNATURE}\r\n")


@pytest.mark.parametrize(
    ("secret", "body", "header"),
    [
        ("another secret", GITHUB_BODY, GITHUB_SIGNATURE),  # signed for another app
        (GITHUB_SECRET, b"Hello, World?", GITHUB_SIGNATURE),  # the body changed on the way
        (GITHUB_SECRET, GITHUB_BODY, None),  # not signed
        (GITHUB_SECRET, GITHUB_BODY, ""),
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE.removeprefix("sha256=")),
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE.replace("sha256", "sha1")),
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE.upper()),
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE[:-1] + "é"),  # not ASCII
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE[:-1] + "\udcff"),  # a stray byte
        (GITHUB_SECRET, GITHUB_BODY, GITHUB_SIGNATURE + "0" * 1000),  # oversized
        ("", GITHUB_BODY, webhooks.signature("", GITHUB_BODY)),  # no secret: nothing verifies
    ],
)
def test_a_wrong_signature_is_a_mismatch(secret: str, body: bytes, header: str | None) -> None:
    assert webhooks.signed(secret, body, header) is False


def test_gitlab_tokens_are_compared_whole() -> None:
    assert webhooks.token_matches("s3cret-token", "s3cret-token")
    for header in ["s3cret-toke", "s3cret-token ", "S3CRET-TOKEN", "", None, "ü" * 600]:
        assert webhooks.token_matches("s3cret-token", header) is False
    assert webhooks.token_matches("", "") is False
