"""Addon versions: resolved against the tags a repository really offers, before applying."""

from __future__ import annotations

import pytest

from shipway.addons.versions import resolve, resolve_services, with_versions
from shipway.errors import ShipwayError, TemporaryError
from shipway.spec.model import Service

OFFICIAL = ["latest", "alpine", "16", "16.4", "16-bookworm", "16.4-alpine3.20", "15", "9.6", "17"]


@pytest.mark.parametrize(
    ("requested", "tags", "default", "expected"),
    [
        ("6.0", ["6.0", "7.0"], "7.0", "6.0"),  # exact
        ("16-bookworm", OFFICIAL, "16", "16-bookworm"),  # exact, even a variant
        (None, OFFICIAL, "16", "16"),  # unpinned: the default
        (None, ["15", "latest"], "16", "15"),  # the default missing: the newest
        (None, ["9.6", "10", "latest", "15-alpine"], "16", "10"),  # numbers, not text
        (None, ["7.0"], "7.2", "7.0"),
        (None, ["15", "15.14", "14.9"], "16", "15.14"),
    ],
)
def test_found_without_warning(
    requested: str | None, tags: list[str], default: str, expected: str
) -> None:
    assert resolve("postgresql", requested, tags, default) == (expected, None)


@pytest.mark.parametrize(
    ("requested", "tags", "expected", "line"),
    [
        ("6.0.2", ["6.0", "7.0"], "6.0", "6.0"),  # the seed's MongoDB on the repo's mirror
        ("6.0.2", ["6.0.1", "6.0.5", "6.0", "6.1.0", "7.0"], "6.0.5", "6.0"),
        ("6.0.2", ["6.1", "6.2.3", "7.0", "60"], "6.2.3", "6"),  # 6.0.x missing: 6.x
        ("16", ["16.4", "16.2", "17"], "16.4", "16"),
    ],
)
def test_a_pinned_version_missing_takes_its_line_with_a_warning(
    requested: str, tags: list[str], expected: str, line: str
) -> None:
    version, warning = resolve("mongodb", requested, tags, "7.0", "reg:5000/mirror/mongo")
    assert version == expected
    assert warning == (
        f"mongodb {requested} is not offered by reg:5000/mirror/mongo; "
        f"using {expected}, the newest {line}.x it has"
    )


def test_an_unpinned_addon_stays_on_the_version_it_runs() -> None:
    """Its data was written by that server: a newer default is no reason to move."""
    assert resolve("postgresql", None, ["15", "16"], "16", current="15") == ("15", None)
    assert resolve("postgresql", None, ["16"], "16", current="15") == ("16", None)


@pytest.mark.parametrize(
    ("requested", "tags", "listed"),
    [
        ("5.0", ["6.0", "7.0", "latest"], "it has 7.0, 6.0, latest"),
        ("7.0-alpine", ["6.0"], "it has 6.0"),
        (None, ["latest", "alpine"], "it has alpine, latest"),
        ("4", [], "it has no tags"),
        (
            "1",
            [str(n) for n in range(2, 40)],
            "39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28 and 26 more",
        ),
    ],
)
def test_nothing_fits_is_one_line_listing_what_is_offered(
    requested: str | None, tags: list[str], listed: str
) -> None:
    with pytest.raises(ShipwayError) as caught:
        resolve("mongodb", requested, tags, "7.0", "mirror/mongo")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"mongodb {requested or '7.0'} is not offered by mirror/mongo (")
    assert listed in message
    assert "services.mongodb.version" in message and "addon_images.mongodb" in message


REPOSITORIES = {"mongodb": "reg:5000/mirror/mongo", "postgresql": "reg:5000/mirror/postgres"}
TAGS = {"reg:5000/mirror/mongo": ["6.0"], "reg:5000/mirror/postgres": ["15"], "redis": ["7.2"]}


def test_every_service_of_the_repo_cluster_resolves_against_its_repository() -> None:
    """The seed asks MongoDB 6.0.2; the repo's cluster mirrors 6.0 and PostgreSQL 15."""
    asked: list[str] = []

    def list_tags(repository: str) -> list[str]:
        asked.append(repository)
        return TAGS[repository]

    services = {
        "redis": Service(),
        "postgresql": Service(storage="2Gi"),
        "mongodb": Service(version="6.0.2", **{"as": "MONGO"}),
    }
    resolved, warnings = resolve_services(services, REPOSITORIES, list_tags)
    assert {k: s.version for k, s in resolved.items()} == {
        "mongodb": "6.0",
        "postgresql": "15",
        "redis": "7.2",  # the official image: redis
    }
    assert resolved["postgresql"].storage == "2Gi" and resolved["mongodb"].env_var == "MONGO"
    assert asked == ["reg:5000/mirror/mongo", "reg:5000/mirror/postgres", "redis"]
    assert warnings == [
        "mongodb 6.0.2 is not offered by reg:5000/mirror/mongo; using 6.0, the newest 6.0.x it has"
    ]


def test_an_unreachable_registry_leaves_the_version_unchecked_with_a_warning() -> None:
    def list_tags(repository: str) -> list[str]:
        raise TemporaryError("cannot reach registry reg:5000 (connection refused)")

    resolved, warnings = resolve_services(
        {"postgresql": Service()}, REPOSITORIES, list_tags, current={"postgresql": "15"}
    )
    assert resolved["postgresql"].version == "15"
    assert warnings == [
        "postgresql: cannot reach registry reg:5000 (connection refused); using version 15 unchecked"
    ]


def test_a_refusing_registry_stops_the_deploy() -> None:
    def list_tags(repository: str) -> list[str]:
        raise ShipwayError("registry reg:5000 needs credentials")

    with pytest.raises(ShipwayError, match="needs credentials"):
        resolve_services({"postgresql": Service()}, REPOSITORIES, list_tags)


def test_a_release_records_the_versions_it_runs() -> None:
    services = {"mongodb": Service(version="6.0.2"), "redis": Service()}
    pinned = with_versions(services, {"mongodb": "6.0"})
    assert pinned == {"mongodb": Service(version="6.0"), "redis": Service()}
