"""``shipway server``: run the team server, and set up its first admin."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipway.cli.common import JsonFlag, app, out, print_json

if TYPE_CHECKING:
    from shipway.server.settings import ServerSettings

server_app = typer.Typer(
    help="Run the team server (the API a team deploys through), or set it up.",
    invoke_without_command=True,
)
app.add_typer(server_app, name="server")

Database = Annotated[
    str | None,
    typer.Option(
        envvar="SHIPWAY_DATABASE",
        help="postgresql://USER:PASSWORD@HOST/NAME [default: SQLite in the state dir]",
    ),
]
StateDir = Annotated[
    Path | None,
    typer.Option(help="Where SQLite and uploads live [default: ~/.local/state/shipway]."),
]


def settings_of(database: str | None, state_dir: Path | None, **more: object) -> ServerSettings:
    from pydantic import ValidationError

    from shipway.errors import ShipwayError
    from shipway.server.settings import ServerSettings

    given = {"database": database, "state_dir": state_dir, **more}
    try:
        return ServerSettings.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ShipwayError(f"{where + ': ' if where else ''}{message}") from None


@server_app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8700,
    database: Database = None,
    state_dir: StateDir = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context to manage.")] = None,
    max_builds: Annotated[int | None, typer.Option(help="Builds at once.")] = None,
    queue_size: Annotated[
        int | None, typer.Option(help="Deploys waiting before more are refused (429).")
    ] = None,
    max_upload_mib: Annotated[
        int | None,
        typer.Option(
            "--max-upload-mib", help="Largest source upload or git push, in MiB [default: 200]."
        ),
    ] = None,
    trusted_proxies: Annotated[
        str,
        typer.Option(
            help="Addresses whose X-Forwarded-For is believed (your ingress's, comma-separated): "
            "the client address that failed sign-ins are limited by and the audit log records."
        ),
    ] = "127.0.0.1",
    build_runner: Annotated[
        str | None,
        typer.Option(
            envvar="SHIPWAY_BUILD_RUNNER",
            help="pool: builds run warm in this process; job: each as a Kubernetes Job in "
            "the app's namespace.",
        ),
    ] = None,
    build_image: Annotated[
        str | None,
        typer.Option(envvar="SHIPWAY_SERVER_IMAGE", help="The image build Jobs run."),
    ] = None,
    internal_url: Annotated[
        str | None,
        typer.Option(envvar="SHIPWAY_INTERNAL_URL", help="This server as build Jobs reach it."),
    ] = None,
) -> None:
    """Run the team server (the API a team deploys through), or set it up."""
    if ctx.invoked_subcommand is not None:
        return
    import uvicorn

    from shipway.server.app import create_app

    settings = settings_of(
        database,
        state_dir,
        context=context,
        max_builds=max_builds,
        queue_size=queue_size,
        max_upload=None if max_upload_mib is None else max_upload_mib * 1024 * 1024,
        build_runner=build_runner,
        build_image=build_image,
        internal_url=internal_url,
    )
    application = create_app(settings)
    # A long-lived process: what start-up made (modules, the app) stays for good, so full
    # collections need not walk it again (pauses in the middle of builds).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        application,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=trusted_proxies,
    )


@server_app.command("build-job", hidden=True)
def build_job() -> None:
    """Inside a build Job's pod: fetch a deploy's sources, build, push (shipway.buildjob)."""
    from shipway.buildjob import main

    raise typer.Exit(main())


@server_app.command("init")
def init(
    email: Annotated[str, typer.Option(help="The first site admin's email.")],
    team: Annotated[str, typer.Option(help="Their first team.")] = "main",
    database: Database = None,
    state_dir: StateDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Create the first site admin and their team; prints a token once (no password is
    set: they choose one with shipway passwd)."""
    from shipway import accounts, teams
    from shipway.server.state import Server

    server = Server(settings_of(database, state_dir))
    with server.session() as session:
        user, token = accounts.init_server(session, email)
        teams.create_team(session, team, user)
    if as_json:
        print_json({"email": user.email, "team": team, "token": token})
        return
    out.print(f"created site admin {user.email}, owner of team {team}")
    out.print(f"token (shown once; keep it safe): {token}")
    out.print("sign in with: shipway login URL --token-stdin")


@server_app.command("install")
def install_cmd(
    context: Annotated[str | None, typer.Option(help="kubeconfig context to install into.")] = None,
    storage_class: Annotated[
        str | None, typer.Option(help="StorageClass of the volumes (default: the cluster's).")
    ] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="postgresql://… kept in a Secret (default: SQLite on a volume)",
            envvar="SHIPWAY_INSTALL_DATABASE",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="HOST:PORT of a registry to use instead of an in-cluster one."),
    ] = None,
    image_registry: Annotated[
        str | None,
        typer.Option(
            help="HOST:PORT the nodes pull the install's own images from "
            "(default: the platform's registry)."
        ),
    ] = None,
    push_via: Annotated[
        str | None,
        typer.Option(
            help="HOST:PORT where this machine reaches the in-cluster registry "
            "(default: 127.0.0.1:30500, a node's NodePort on loopback)."
        ),
    ] = None,
    admin_email: Annotated[str, typer.Option(help="The first site admin's email.")] = (
        "admin@example.com"
    ),
    server_image: Annotated[
        str | None, typer.Option(help="Run this image instead of building one from source.")
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(
            help="CA bundle (PEM) the server's package installs trust, e.g. a "
            "TLS-intercepting proxy's; kept in a ConfigMap."
        ),
    ] = None,
    build_runner: Annotated[
        str,
        typer.Option(
            help="pool: builds run in the server's pod; job: each as a Kubernetes Job in "
            "the app's namespace."
        ),
    ] = "pool",
    as_json: JsonFlag = False,
) -> None:
    """Install the server in the cluster (namespace shipway-system); prints its URL and,
    the first time, the first admin's token (once: the cluster keeps only its hash)."""
    from dataclasses import replace

    from shipway.cli.progress import RichProgress
    from shipway.errors import ShipwayError
    from shipway.install.run import Request, install
    from shipway.kube.client import connect

    request = Request(
        admin_email=admin_email,
        storage_class=storage_class,
        database=database,
        registry=registry,
        image_registry=image_registry,
        server_image=server_image,
        build_runner=build_runner,
    )
    if build_runner not in ("pool", "job"):
        raise ShipwayError(f"--build-runner {build_runner[:20]}: choose pool or job")
    if push_via:
        request = replace(request, push_via=push_via)
    if ca_bundle:
        try:
            request = replace(request, ca_bundle=ca_bundle.read_text())
        except (OSError, UnicodeDecodeError) as exc:
            raise ShipwayError(f"--ca-bundle {ca_bundle}: cannot read it ({exc})") from None
    with RichProgress(enabled=not as_json) as progress:
        done = install(connect(context), request, progress)
    if as_json:
        print_json(
            {
                "url": done.url,
                "token": done.token,
                "email": done.admin_email,
                "image": done.server_image,
                "registry": done.registry,
                "pull_registry": done.pull_registry,
                "node_port": done.node_port,
            }
        )
        return
    out.print(f"server: {done.url}  (image {done.server_image})")
    out.print(f"registry: {done.registry} (nodes pull from {done.pull_registry})")
    if done.token:
        out.print(f"site admin {done.admin_email}, token (shown once; keep it safe): {done.token}")
        out.print(f"sign in with: shipway login {done.url} --token-stdin")
    else:
        out.print(f"site admin {done.admin_email} exists already (its token was shown at install)")


@server_app.command("uninstall")
def uninstall_cmd(
    context: Annotated[str | None, typer.Option(help="kubeconfig context.")] = None,
    delete_data: Annotated[
        bool, typer.Option(help="Also delete the server's database and the registry's images.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove the server from the cluster; apps and their data stay."""
    from shipway.install.run import uninstall
    from shipway.kube.client import connect

    done = uninstall(connect(context), delete_data)
    if as_json:
        print_json({"deleted": done.deleted, "kept": done.kept})
        return
    for item in done.deleted:
        out.print(f"deleted {item}")
    for item in done.kept:
        out.print(f"kept {item}")
