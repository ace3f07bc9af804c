"""Listing a repository's tags (OCI distribution ``tags/list``), from a registry whose
answers are untrusted: paginated by ``Link``, bounded, every tag checked."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from shipway.addons.versions import registry_tags
from shipway.errors import ShipwayError, TemporaryError
from tests.helpers.fake_registry import Answer, Registry


def paged(tags: list[str], link: Callable[[str, str], str] | None = None) -> Answer:
    """A registry as distribution's: ``n`` tags after ``last``, a Link to the next page."""

    def answer(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if path != "/v2/mirror/postgres/tags/list":
            return 404, {}, b'{"errors": [{"code": "NAME_UNKNOWN"}]}'
        n, last = int(query["n"][0]), query.get("last", [""])[0]
        rest = [t for t in sorted(tags) if t > last]
        page, more = rest[:n], rest[n:]
        headers = {"Content-Type": "application/json"}
        if more:
            make = link or (lambda p, q: f'<{p}?n={n}&last={q}>; rel="next"')
            headers["Link"] = make(path, page[-1])
        return 200, headers, json.dumps({"name": "mirror/postgres", "tags": page}).encode()

    return answer


def test_every_page_is_followed(
    serve: Callable[[Answer], Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shipway.image.registry.TAGS_PAGE", 2)
    tags = ["14", "15", "15.14", "16", "latest"]
    registry = serve(paged(tags))
    assert sorted(registry.client().list_tags("mirror/postgres")) == tags
    assert registry.requests == [
        "/v2/mirror/postgres/tags/list?n=2",
        "/v2/mirror/postgres/tags/list?n=2&last=15",
        "/v2/mirror/postgres/tags/list?n=2&last=16",
    ]


def test_a_repository_without_tags_has_none(serve: Callable[[Answer], Registry]) -> None:
    registry = serve(lambda path, query: (200, {}, b'{"name": "mirror/postgres", "tags": null}'))
    assert registry.client().list_tags("mirror/postgres") == []


def test_the_platform_lister_reads_the_repository_of_the_setting(
    serve: Callable[[Answer], Registry],
) -> None:
    registry = serve(paged(["15"]))
    list_tags = registry_tags()
    assert list_tags(f"{registry.host}/mirror/postgres") == ["15"]
    with pytest.raises(ShipwayError, match=r"/mirror/mongo does not exist in the registry"):
        list_tags(f"{registry.host}/mirror/mongo")


@pytest.mark.parametrize(
    "body",
    [
        b'{"tags": ["15", "16\\n"]}',  # a line break would smuggle text into messages
        b'{"tags": ["-rc"]}',
        b'{"tags": ["' + b"a" * 129 + b'"]}',
        b'{"tags": [15]}',
        b'{"tags": "15"}',
        b"[]",
        b"not json",
        b'{"tags": ["' + b'15", "' * 800_000 + b'"]}',  # past the bound of a page
    ],
)
def test_an_invalid_answer_is_refused(serve: Callable[[Answer], Registry], body: bytes) -> None:
    registry = serve(lambda path, query: (200, {}, body))
    with pytest.raises(
        ShipwayError, match=r"the tag list of mirror/postgres is not a valid answer"
    ):
        registry.client().list_tags("mirror/postgres")


def test_a_next_page_on_another_host_is_not_followed(
    serve: Callable[[Answer], Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's token would go with the request."""
    monkeypatch.setattr("shipway.image.registry.TAGS_PAGE", 1)
    elsewhere = paged(["15", "16"], lambda p, q: f'<http://198.51.100.7{p}?last={q}>; rel="next"')
    with pytest.raises(ShipwayError, match=r"points to another host \(198\.51\.100\.7\)"):
        serve(elsewhere).client().list_tags("mirror/postgres")


def test_pages_that_never_end_are_bounded(
    serve: Callable[[Answer], Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shipway.image.registry.TAGS_PAGES", 3)

    def endless(path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Link": f'<{path}?n=1000>; rel="next"'}, b'{"tags": ["15"]}'

    registry = serve(endless)
    with pytest.raises(ShipwayError, match="more than 3000 tags or its pages never end"):
        registry.client().list_tags("mirror/postgres")
    assert len(registry.requests) == 3


def test_a_rate_limit_is_worth_retrying(serve: Callable[[Answer], Registry]) -> None:
    """resolve_services then keeps the version as asked, with a warning."""
    registry = serve(lambda path, query: (429, {}, b'{"errors": [{"code": "TOOMANYREQUESTS"}]}'))
    with pytest.raises(TemporaryError, match=r"limits requests now \(HTTP 429\)"):
        registry.client().list_tags("mirror/postgres")
