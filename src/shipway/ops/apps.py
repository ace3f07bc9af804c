"""The day-2 verbs of a deployed app, as the verb table declares them. Each returns
what ``shipway VERB --json`` prints, in both modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shipway.access import Action
from shipway.errors import ShipwayError
from shipway.ops.table import EXTRA, Call, NoArguments, verb

if TYPE_CHECKING:
    from shipway.releasing import Outcome

#: Config values are free text, but bounded: a release record carries all of them.
MAX_CONFIG_VALUE = 32 * 1024
MAX_CONFIG_CHANGES = 200


def release_json(outcome: Outcome, status: str) -> dict[str, Any]:
    """A new release, as the verbs that make one report it."""
    release = outcome.release
    return {
        "status": status,
        "app": release.spec.name,
        "release": release.version,
        "description": release.description,
        "image": release.image,
        "url": outcome.url,
        "warnings": outcome.warnings,
    }


@verb("info", Action.READ, "GET", "", NoArguments)
def info(call: Call, app: str, _request: NoArguments) -> dict[str, Any]:
    """The running release, the app's URL, its processes and addons."""
    from shipway import operate

    return operate.info(call.target(app)).__dict__


@dataclass(frozen=True)
class ConfigQuery:
    __pydantic_config__ = EXTRA
    reveal: bool = False


@verb("config", Action.READ, "GET", "/config", ConfigQuery)
def config(call: Call, app: str, request: ConfigQuery) -> dict[str, str]:
    """The app's config vars: names always, values only when asked by who may read them."""
    from shipway import appstate

    if request.reveal:
        call.require(Action.READ_CONFIG)
    target = call.target(app)
    env = appstate.config_vars(target.client, target.namespace, app)
    return {k: (v if request.reveal else "(hidden)") for k, v in sorted(env.items())}


@dataclass(frozen=True)
class ConfigChange:
    """A name with a value sets it; with null, unsets it."""

    __pydantic_config__ = EXTRA
    changes: dict[str, str | None]

    def __post_init__(self) -> None:
        if not 1 <= len(self.changes) <= MAX_CONFIG_CHANGES:
            raise ShipwayError(f"changes: give 1 to {MAX_CONFIG_CHANGES} config vars")
        for name, value in self.changes.items():
            if value is not None and len(value) > MAX_CONFIG_VALUE:
                raise ShipwayError(f"config var {name[:60]}: keep values under 32 KiB")

    def audited(self) -> dict[str, Any]:
        return {
            "set": sorted(k for k, v in self.changes.items() if v is not None),
            "unset": sorted(k for k, v in self.changes.items() if v is None),
        }


@verb("config:set", Action.DEPLOY, "PATCH", "/config", ConfigChange, releases=True)
def config_set(call: Call, app: str, request: ConfigChange) -> dict[str, Any]:
    """Set or unset config vars: a new release that restarts the processes."""
    from shipway import operate

    outcome = operate.set_config(call.target(app), request.changes, call.timeout, call.progress)
    if outcome is None:  # not deployed yet: kept for the first deploy
        return {"release": None, "changed": sorted(request.changes)}
    return release_json(outcome, outcome.release.status)


@verb("releases", Action.READ, "GET", "/releases", NoArguments)
def releases(call: Call, app: str, _request: NoArguments) -> list[dict[str, Any]]:
    """The app's releases, newest first."""
    from shipway.listing import releases as listed

    target = call.target(app)
    return [r.__dict__ for r in listed(target.client, target.namespace, app)]


@dataclass(frozen=True)
class RollbackTo:
    __pydantic_config__ = EXTRA
    version: str | None = None  # vN or N; default: the successful release before


@verb("rollback", Action.DEPLOY, "POST", "/rollback", RollbackTo, releases=True)
def rollback(call: Call, app: str, request: RollbackTo) -> dict[str, Any]:
    """Roll back to a release (default: the one before the current): a new release."""
    from shipway import operate

    outcome, wanted = operate.rollback(
        call.target(app), request.version, call.timeout, call.progress
    )
    return release_json(outcome, outcome.release.status) | {"rolled_back_to": wanted.version}


@dataclass(frozen=True)
class Formation:
    __pydantic_config__ = EXTRA
    counts: dict[str, int]

    def __post_init__(self) -> None:
        for process, count in self.counts.items():
            if not 0 <= count <= MAX_REPLICAS:
                raise ShipwayError(f"'{process[:60]}={count}': use 0 to {MAX_REPLICAS} pods")
        if not self.counts:
            raise ShipwayError("counts: give at least one process=COUNT, e.g. web=2")


MAX_REPLICAS = 100


@verb("scale", Action.DEPLOY, "PUT", "/formation", Formation, releases=True)
def scale(call: Call, app: str, request: Formation) -> dict[str, int]:
    """Set how many pods each process type runs (kept for later releases)."""
    from shipway import operate

    return operate.scale(call.target(app), request.counts)


@dataclass(frozen=True)
class Processes:
    __pydantic_config__ = EXTRA
    processes: list[str] = field(default_factory=list)  # default: all


@verb("restart", Action.DEPLOY, "POST", "/restart", Processes, releases=True)
def restart(call: Call, app: str, request: Processes) -> dict[str, list[str]]:
    """Replace the app's pods one by one with fresh ones of the same release."""
    from shipway import operate

    if call.progress:
        call.progress.step("replacing the pods")
    return {"restarted": operate.restart(call.target(app), request.processes, call.timeout)}


@verb("ps", Action.READ, "GET", "/ps", NoArguments)
def ps(call: Call, app: str, _request: NoArguments) -> list[dict[str, Any]]:
    """The app's pods: process type, status, restarts."""
    from shipway.kube.pods import app_pods

    target = call.target(app)
    return [pod.__dict__ for pod in app_pods(target.client, target.namespace, app)]


@dataclass(frozen=True)
class LogsQuery:
    __pydantic_config__ = EXTRA
    follow: bool = False
    process: str | None = None
    tail: int | None = None


@verb("logs", Action.READ, "GET", "/logs", LogsQuery, stream=True)
def logs(call: Call, app: str, request: LogsQuery) -> None:
    """The logs of all the app's pods, each line prefixed with its pod."""
    from shipway import operate
    from shipway.kube import pods as kube_pods

    target = call.target(app)
    if request.process is not None:
        operate.process_types(target, [request.process])
    found = [
        p
        for p in kube_pods.app_pods(target.client, target.namespace, app)
        if request.process is None or p.process == request.process
    ]
    if not found:
        kind = f" of type {request.process}" if request.process else ""
        raise ShipwayError(f"{app} has no pods{kind}")
    tail = None if request.tail is None else max(0, request.tail)
    kube_pods.stream_logs(
        target.client,
        target.namespace,
        found,
        request.follow,
        tail,
        lambda pod, line: call.emit(f"{pod} | {line}"),
    )


@dataclass(frozen=True)
class Command:
    __pydantic_config__ = EXTRA
    command: list[str]

    def __post_init__(self) -> None:
        if not self.command or len(self.command) > 1000 or sum(map(len, self.command)) > 65536:
            raise ShipwayError("command: give a command to run (at most 64 KiB of arguments)")

    def audited(self) -> dict[str, Any]:
        # Arguments may carry secrets (``run env TOKEN=…``): the program name only.
        return {"program": self.command[0][:100], "arguments": len(self.command) - 1}


@verb("run", Action.DEPLOY, "POST", "/run", Command, stream=True)
def run(call: Call, app: str, request: Command) -> dict[str, int]:
    """Run a command once in a new pod with the app's image and config; exits with its code."""
    from shipway import operate

    code = operate.run(call.target(app), request.command, call.emit, call.timeout)
    return {"exit_code": code}


@verb("addons", Action.READ, "GET", "/addons", NoArguments)
def addons(call: Call, app: str, _request: NoArguments) -> list[dict[str, Any]]:
    """The app's backing services and their state."""
    from shipway import operate

    return [a.__dict__ for a in operate.addons(call.target(app))]


@verb("volumes", Action.READ, "GET", "/volumes", NoArguments)
def volumes(call: Call, app: str, _request: NoArguments) -> list[str]:
    """The app's addon volumes: what destroy deletes or keeps."""
    from shipway import operate

    return operate.data_volumes(call.target(app))


@dataclass(frozen=True)
class Removal:
    __pydantic_config__ = EXTRA
    keep_data: bool


@verb("destroy", Action.MANAGE_APP, "DELETE", "", Removal)
def destroy(call: Call, app: str, request: Removal) -> dict[str, list[str]]:
    """Delete the app, keeping its addon data (volumes, credentials, history) or not."""
    from shipway import operate

    target = call.target(app)
    found = operate.data_volumes(target)
    removed = operate.destroy(target, request.keep_data, call.timeout)
    return {"removed": removed, "kept": found if request.keep_data else []}
