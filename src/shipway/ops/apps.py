"""The day-2 verbs of a deployed app, as the verb table declares them. Each returns
what ``shipway VERB --json`` prints, in both modes."""

from __future__ import annotations

from dataclasses import dataclass
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
