"""Which Python base image an app builds on when the platform offers several."""

from __future__ import annotations

import pytest

from shipway.errors import ShipwayError
from shipway.platform import Platform, choose_base_image, update

OFFERED = Platform(
    base_image="reg/python:3.11",
    base_images={"3.11": "reg/python:3.11", "3.13": "reg/python:3.13", "3.14": "reg/python:3.14"},
)


@pytest.mark.parametrize(
    ("version", "source", "constraint", "image", "warned"),
    [
        ("3.13", ".python-version", None, "reg/python:3.13", False),  # exact minor
        ("3.13.4", "runtime.txt", None, "reg/python:3.13", False),  # a patch: its minor
        ("3.12", "app spec", None, "reg/python:3.13", True),  # our examples' 3.12
        ("3.8.6", ".cupaas.yml", None, "reg/python:3.11", True),  # the seed's python:3.8.6
        ("3.12", "pyproject.toml", ">=3.12,<3.14", "reg/python:3.13", True),
        ("3.12", "pyproject.toml", ">=3.12,!=3.13.*", "reg/python:3.14", True),
        ("3.12", "default", None, "reg/python:3.11", False),  # asks nothing: base_image
    ],
)
def test_the_exact_minor_else_the_nearest_newer_one_allowed(
    version: str, source: str, constraint: str | None, image: str, warned: bool
) -> None:
    choice = choose_base_image(OFFERED, version, source, constraint)
    assert choice.image == image
    assert (choice.warning is not None) == warned
    if choice.warning:
        wanted = ".".join(version.split(".")[:2])
        assert (
            f"Python {wanted} " in choice.warning and f"on Python {image[-4:]}," in choice.warning
        )


def test_nothing_fits_stops_with_what_is_offered() -> None:
    with pytest.raises(ShipwayError) as caught:
        choose_base_image(OFFERED, "3.12", ".python-version", "<3.13")
    assert str(caught.value) == (
        "Python 3.12 (from .python-version) is not offered by this platform, nor a newer "
        "version within '<3.13'; it offers 3.11, 3.13, 3.14: ask for one of them in "
        ".python-version"
    )


def test_a_version_derived_from_a_constraint_may_go_older() -> None:
    """requires-python '<3.13' pins nothing: 3.11 is allowed when 3.12 is not offered."""
    choice = choose_base_image(OFFERED, "3.12", "pyproject.toml", "<3.13")
    assert choice.image == "reg/python:3.11" and choice.warning


def test_without_base_images_the_single_base_image_serves_all() -> None:
    only = Platform(base_image="reg/python:3.11")
    assert choose_base_image(only, "3.13", "runtime.txt", None).image == "reg/python:3.11"
    assert choose_base_image(Platform(), "3.13", "runtime.txt", None).image is None


def test_base_images_are_set_one_minor_at_a_time() -> None:
    platform = update(Platform(), {"base_images.3.13": "reg/python:3.13"})
    platform = update(platform, {"base_images.3.14": "reg/python:3.14"})
    assert platform.base_images == {"3.13": "reg/python:3.13", "3.14": "reg/python:3.14"}
    assert update(platform, {"base_images.3.13": ""}).base_images == {"3.14": "reg/python:3.14"}
    with pytest.raises(ShipwayError, match="'three' is not a Python minor version"):
        update(platform, {"base_images.three": "x"})
