"""The verbs that work on an app's files alone: render, inspect (and version)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.common import JsonFlag, app, err, out, print_json, styled, table
from shipway.cli.main import print_version
from shipway.errors import ShipwayError
from shipway.render import Expose

if TYPE_CHECKING:
    from shipway.render import RenderOptions

AppDir = Annotated[Path, typer.Argument(help="The app's source directory.", show_default=False)]


@app.command("render")
def render_cmd(
    app_dir: AppDir,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Where to write the files.")],
    image: Annotated[str | None, typer.Option(help="Image to run [default: APP:latest].")] = None,
    expose: Annotated[Expose, typer.Option(help="How the web process is reached.")] = "clusterip",
    namespace: Annotated[str | None, typer.Option(help="[default: the app name]")] = None,
    ingress_class: Annotated[str | None, typer.Option(help="IngressClass to use.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Write the Kubernetes manifests (and a Dockerfile) that run the app."""
    from shipway import project
    from shipway.credentials import CredentialStore
    from shipway.render.output import write

    proj = project.load(app_dir)
    options = _options(image or project.default_image(proj.spec), expose, namespace, ingress_class)
    rendered = project.render_project(proj, options, CredentialStore())
    files = write(rendered.objects, out_dir)
    docker = None
    if rendered.dockerfile is not None:
        docker = out_dir / "Dockerfile"
        docker.write_text(rendered.dockerfile, encoding="utf-8")
    rows = [
        {"kind": obj["kind"], "name": obj["metadata"]["name"], "file": str(path)}
        for obj, path in zip(rendered.objects, files, strict=True)
    ]
    if as_json:
        print_json(
            {
                "app": proj.spec.name,
                "namespace": options.namespace or proj.spec.name,
                "image": options.image,
                "objects": rows,
                "dockerfile": str(docker) if docker else None,
            }
        )
        return
    listing = table("kind", "name", "file", title=f"{proj.spec.name}: {len(rows)} objects")
    for row in rows:
        listing.add_row(row["kind"], row["name"], row["file"])
    out.print(listing)
    out.print(f"Dockerfile: {docker}" if docker else "Dockerfile: the app's own is kept")
    out.print(f"Apply with: kubectl apply -f {out_dir}")


@app.command("inspect")
def inspect_cmd(app_dir: AppDir, as_json: JsonFlag = False) -> None:
    """Show what Shipway understood of the app: its spec and build plan."""
    from shipway import project

    proj = project.load(app_dir)
    spec = proj.spec.model_dump(mode="json", by_alias=True)
    spec["env"] = {name: "(hidden)" for name in spec["env"]}  # config values are secrets
    plan = proj.plan.model_dump(mode="json")
    if as_json:
        print_json({"spec": spec, "plan": plan})
        return
    summary = table("", "", show_header=False, title=f"app {proj.spec.name}")
    summary.add_row("python", f"{plan['python_version']} (from {plan['python_version_source']})")
    summary.add_row("base image", plan["base_image"])
    deps = plan["dependencies"]
    summary.add_row("dependencies", deps["file"] if deps else "none")
    summary.add_row("framework", plan["framework"] or "-")
    summary.add_row("port", str(plan["port"]))
    for name, process in plan["processes"].items():
        command = process["command"] or "(the image's own command)"
        summary.add_row(f"process {name} x{process['replicas']}", str(command))
    summary.add_row("addons", ", ".join(spec["services"]) or "none")
    summary.add_row("config vars", ", ".join(spec["env"]) or "none")
    out.print(summary)
    for warning in proj.plan.warnings:
        err.print(styled("yellow", f"warning: {warning}"))


@app.command("version")
def version_cmd() -> None:
    """Print Shipway's version."""
    print_version()


def _options(
    image: str, expose: Expose, namespace: str | None, ingress_class: str | None
) -> RenderOptions:
    from pydantic import ValidationError

    from shipway.render import RenderOptions

    try:
        return RenderOptions(
            image=image, expose=expose, namespace=namespace, ingress_class=ingress_class
        )
    except ValidationError as exc:
        field = exc.errors()[0]["loc"][0]
        raise ShipwayError(
            f"--{str(field).replace('_', '-')}: invalid value; use lower-case "
            "letters, digits and '-'"
        ) from None
