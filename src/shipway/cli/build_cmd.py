"""``shipway build``: build the app's image and push it (or write it to a file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from shipway.cli.common import JsonFlag, app, out, print_json, styled
from shipway.cli.progress import RichProgress
from shipway.errors import ShipwayError

if TYPE_CHECKING:
    from shipway.image.auth import Credentials
    from shipway.image.builder import BuildResult

Builder = Literal["shipway", "docker"]


@app.command("build")
def build_cmd(
    app_dir: Annotated[Path, typer.Argument(help="The app's source directory.")],
    tag: Annotated[
        str | None, typer.Option("--tag", "-t", help="REGISTRY/REPO:TAG to push.")
    ] = None,
    base_image: Annotated[
        str | None,
        typer.Option(envvar="SHIPWAY_BASE_IMAGE", help="[default: python:<version>-slim]"),
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option("--output", "-o", help="oci:DIR or docker-archive:FILE (repeatable)."),
    ] = None,
    insecure_registry: Annotated[
        bool, typer.Option(help="Allow plain HTTP to a registry that is not on loopback.")
    ] = False,
    username: Annotated[str | None, typer.Option(help="Registry user.")] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
    builder: Annotated[Builder, typer.Option(help="shipway (daemonless) or docker.")] = "shipway",
    ca_bundle: Annotated[
        Path | None,
        typer.Option(help="CA bundle trusted by package installs in a docker build (proxies)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the app's OCI image and push it to a registry."""
    from shipway import project
    from shipway.image import reference
    from shipway.image.builder import BuildRequest, build
    from shipway.image.deps import package_indexes
    from shipway.image.docker_builder import docker_build
    from shipway.image.outputs import parse_output

    proj = project.load(app_dir)
    push = reference.parse(tag, "--tag") if tag else None
    outputs = [parse_output(o) for o in output or []]
    if push is None and not outputs:
        raise ShipwayError("nothing to do: give --tag REGISTRY/REPO:TAG to push, or --output")
    base = reference.parse(base_image or proj.plan.base_image, "--base-image")
    indexes = package_indexes(proj.app_dir, proj.plan, proj.context)
    if not as_json:
        _print_indexes(indexes)
    if builder == "docker":
        if push is None or outputs:
            raise ShipwayError("--builder docker pushes to --tag; it cannot write --output")
        with RichProgress(enabled=not as_json) as progress:
            digest = docker_build(proj, push, base, ca_bundle, progress)
        report = {"image": str(push), "digest": digest, "layers": [], "builder": "docker"}
        _report({**report, "package_indexes": indexes}, as_json)
        return
    request = BuildRequest(
        proj, base, push, outputs, insecure_registry, _credentials(username, password_stdin)
    )
    with RichProgress(enabled=not as_json) as progress:
        result = build(request, progress=progress)
    _report({**_as_dict(result), "package_indexes": indexes}, as_json)


def _print_indexes(indexes: list[str]) -> None:
    """The app's own choice of package indexes, before anything is installed from them."""
    if indexes:
        out.print("package indexes (a package comes from the first that has it):")
    for number, index in enumerate(indexes, start=1):
        out.print(f"  {number}. {index}", soft_wrap=True)


def _credentials(username: str | None, password_stdin: bool) -> Credentials | None:
    from shipway.image.auth import Credentials

    if password_stdin and not username:
        raise ShipwayError("--password-stdin needs --username")
    if username is None:
        return None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else ""
    return Credentials(username, password)


def _as_dict(result: BuildResult) -> dict[str, Any]:
    return {
        "image": result.image,
        "digest": result.digest,
        "config": result.config_digest,
        "builder": "shipway",
        "uploaded_bytes": result.uploaded_bytes,
        "layers": [
            {
                "role": layer.role,
                "digest": layer.digest,
                "size": layer.size,
                "status": layer.status,
                "uploaded": layer.status == "uploaded",
                "cached": layer.cached,
            }
            for layer in result.layers
        ],
    }


def _report(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(data)
        return
    for layer in data["layers"]:
        note = " (cached)" if layer["cached"] else ""
        out.print(
            f"  {layer['role']:<12} {layer['digest'][:19]}  {layer['size']:>11,} B  "
            f"{layer['status']}{note}"
        )
    out.print(styled("bold", f"{data['image']}@{data['digest']}"), soft_wrap=True)
