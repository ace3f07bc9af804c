"""The live deploy page's server-sent events: each event of a deploy's record becomes the
HTML fragment htmx swaps in, escaped, and every shape of end event renders (a failed
deploy's carries no release)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import Request

from shipway.dashboard import pages
from shipway.dashboard.views.deploys import _fragments, _message

pytestmark = pytest.mark.unit


def request(language: str = "en") -> Request:
    headers = [(b"accept-language", language.encode()), (b"host", b"127.0.0.1")]
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
    return Request({**scope, "query_string": b"", "scheme": "http", "server": None})


def streamed(events: list[Any], language: str = "en") -> str:
    async def source() -> AsyncIterator[Any]:
        for event in events:
            yield event

    async def collect() -> str:
        chunks = [c async for c in _fragments(request(language), "shop", 7, source())]
        return b"".join(chunks).decode()

    return asyncio.run(collect())


def test_each_event_becomes_its_fragment_escaped() -> None:
    text = streamed(
        [
            (1, "step", {"step": "build", "status": "finished", "seconds": 1.25}),
            (2, "log", {"text": "<script>alert(1)</script>"}),
            None,
            (3, "end", {"status": "failed", "reason": "release v3 failed: <b>crash</b>"}),
        ]
    )
    blocks = text.split("\n\n")
    assert blocks[0].startswith("id: 1\nevent: step-build\ndata: ")
    assert 'data-status="finished"' in blocks[0] and "1.2 s" in blocks[0]
    assert blocks[1].startswith("id: 2\nevent: log\n")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in blocks[1] and "<script>" not in blocks[1]
    assert blocks[2] == ": still working"
    assert blocks[3].startswith("id: 3\nevent: end\n")
    assert 'data-status="failed"' in blocks[3]
    assert "release v3 failed: &lt;b&gt;crash&lt;/b&gt;" in blocks[3]


def test_a_finished_deploy_links_its_url_and_names_its_release_in_spanish() -> None:
    end = {"status": "finished", "reason": None, "release": 4, "url": "http://127.0.0.1:3/"}
    text = streamed([(9, "end", end)], "es")
    assert "versión v4" in text and 'href="http://127.0.0.1:3/"' in text
    assert "terminado" in text


def test_a_url_that_is_not_the_web_is_never_a_link() -> None:
    end = {"status": "finished", "release": 2, "url": "javascript:alert(1)"}
    assert "href" not in streamed([(1, "end", end)])


def test_every_line_of_a_fragment_is_a_data_line() -> None:
    assert _message(5, "log", "<p>a</p>\n<p>b</p>") == (
        b"id: 5\nevent: log\ndata: <p>a</p>\ndata: <p>b</p>\n\n"
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/apps/shop", "/apps/shop"),
        ("//evil.example", "/apps"),
        ("https://evil.example", "/apps"),
        ("/\\evil.example", "/apps"),
        ("/apps\r\nSet-Cookie: x", "/apps"),
        ("", "/apps"),
        (None, "/apps"),
    ],
)
def test_after_signing_in_only_a_path_of_this_site(target: str | None, expected: str) -> None:
    assert pages.safe_next(target) == expected
