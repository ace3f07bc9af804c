"""The ``shipway`` command line: parses input, calls the core, prints results."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from shipway import __version__, project
from shipway.cli.common import JsonFlag, app, err, out, print_json, styled
from shipway.credentials import CredentialStore
from shipway.errors import ShipwayError
from shipway.render import Expose, RenderOptions
from shipway.render.output import write

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
    table = Table("kind", "name", "file", title=f"{proj.spec.name}: {len(rows)} objects")
    for row in rows:
        table.add_row(row["kind"], row["name"], row["file"])
    out.print(table)
    out.print(f"Dockerfile: {docker}" if docker else "Dockerfile: the app's own is kept")
    out.print(f"Apply with: kubectl apply -f {out_dir}")


@app.command("inspect")
def inspect_cmd(app_dir: AppDir, as_json: JsonFlag = False) -> None:
    """Show what Shipway understood of the app: its spec and build plan."""
    proj = project.load(app_dir)
    spec = proj.spec.model_dump(mode="json", by_alias=True)
    spec["env"] = {name: "(hidden)" for name in spec["env"]}  # config values are secrets
    plan = proj.plan.model_dump(mode="json")
    if as_json:
        print_json({"spec": spec, "plan": plan})
        return
    table = Table("", "", show_header=False, title=f"app {proj.spec.name}")
    table.add_row("python", f"{plan['python_version']} (from {plan['python_version_source']})")
    table.add_row("base image", plan["base_image"])
    deps = plan["dependencies"]
    table.add_row("dependencies", deps["file"] if deps else "none")
    table.add_row("framework", plan["framework"] or "-")
    table.add_row("port", str(plan["port"]))
    for name, process in plan["processes"].items():
        command = process["command"] or "(the image's own command)"
        table.add_row(f"process {name} x{process['replicas']}", str(command))
    table.add_row("addons", ", ".join(spec["services"]) or "none")
    table.add_row("config vars", ", ".join(spec["env"]) or "none")
    out.print(table)
    for warning in proj.plan.warnings:
        err.print(styled("yellow", f"warning: {warning}"))


@app.command("version")
def version_cmd() -> None:
    """Print Shipway's version."""
    out.print(__version__)


def _options(
    image: str, expose: Expose, namespace: str | None, ingress_class: str | None
) -> RenderOptions:
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


#: Modules that register more commands, imported only when their command runs (or for
#: --help), so that `shipway render` never pays for the registry or cluster clients.
COMMAND_MODULES = {
    "build": "build_cmd",
    **dict.fromkeys(
        [
            "deploy",
            "releases",
            "rollback",
            "config",
            "config:set",
            "config:unset",
            "scale",
            "restart",
            "info",
            "ps",
            "logs",
            "run",
            "addons",
            "apps",
            "destroy",
            "platform",
        ],
        "apps_cmd",
    ),
    **dict.fromkeys(["create", "addons:create", "addons:destroy"], "lifecycle_cmd"),
}


def _register_commands(argv: list[str]) -> None:
    if len(argv) > 1 and argv[1] in ("render", "inspect", "version"):
        return
    wanted = COMMAND_MODULES.get(argv[1]) if len(argv) > 1 else None
    for module in [wanted] if wanted else sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"shipway.cli.{module}")


def main() -> None:
    try:
        _register_commands(sys.argv)
        app()
    except ShipwayError as exc:
        err.print(styled("bold red", "error:", f" {exc}"), soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line; SHIPWAY_DEBUG=1 shows where
        if os.environ.get("SHIPWAY_DEBUG"):
            raise
        err.print(
            styled(
                "bold red",
                "error:",
                f" internal error ({type(exc).__name__}: {exc}); this is a bug in Shipway: "
                "run again with SHIPWAY_DEBUG=1 and report the traceback",
            ),
            soft_wrap=True,
        )
        sys.exit(70)
