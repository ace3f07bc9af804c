"""Heroku's lifecycle verbs as the verb table declares them: create an app, add or
remove its addons (before or after its first deploy)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipway.access import Action
from shipway.ops.apps import release_json
from shipway.ops.table import EXTRA, Call, NoArguments, verb

if TYPE_CHECKING:
    from shipway.releasing import Outcome


@dataclass(frozen=True)
class NewApp:
    __pydantic_config__ = EXTRA
    #: The team that owns the app (remote mode; the server's own check). Direct mode has
    #: no teams.
    team: str | None = None


@verb("create", Action.MANAGE_APP, "POST", "", NewApp)
def create(call: Call, app: str, _request: NewApp) -> dict[str, Any]:
    """Create an app before its first deploy (then addons:create, config:set, deploy)."""
    from shipway import lifecycle

    target = call.target(app)
    lifecycle.create(target)
    return {"app": app, "namespace": target.namespace}


@dataclass(frozen=True)
class NewAddon:
    __pydantic_config__ = EXTRA
    addon: str  # postgresql[:VERSION], redis, mongodb …
    storage: str | None = None
    env_var: str | None = None


@verb("addons:create", Action.MANAGE_APP, "POST", "/addons", NewAddon, releases=True)
def addons_create(call: Call, app: str, request: NewAddon) -> dict[str, Any]:
    """Add a backing service; a deployed app gets it at once, as a new release."""
    from shipway import lifecycle

    parsed = lifecycle.parse_addon(request.addon, request.storage, request.env_var)
    outcome = lifecycle.add_addon(call.target(app), parsed, call.timeout, call.progress)
    return _report(outcome, parsed.kind)


@dataclass(frozen=True)
class AddonName:
    __pydantic_config__ = EXTRA
    addon: str


@verb("addons:destroy", Action.MANAGE_APP, "DELETE", "/addons", AddonName, releases=True)
def addons_destroy(call: Call, app: str, request: AddonName) -> dict[str, Any]:
    """Remove a backing service made with addons:create, and its data."""
    from shipway import lifecycle

    kind = lifecycle.parse_addon(request.addon).kind
    outcome = lifecycle.remove_addon(call.target(app), kind, call.timeout, call.progress)
    return _report(outcome, kind)


@verb("domains", Action.READ, "GET", "/domains", NoArguments)
def domains(call: Call, app: str, _request: NoArguments) -> dict[str, list[str]]:
    """The host names the app answers on: from its files, and added with domains:add."""
    from shipway import lifecycle

    return lifecycle.domains(call.target(app))


@dataclass(frozen=True)
class Domain:
    __pydantic_config__ = EXTRA
    domain: str


@verb("domains:add", Action.MANAGE_APP, "POST", "/domains", Domain, releases=True)
def domains_add(call: Call, app: str, request: Domain) -> dict[str, Any]:
    """Serve the app on a host name too (through its Ingress): a new release."""
    from shipway import lifecycle

    outcome = lifecycle.add_domain(call.target(app), request.domain, call.timeout, call.progress)
    return _domain_report(outcome, request.domain)


@verb("domains:remove", Action.MANAGE_APP, "DELETE", "/domains", Domain, releases=True)
def domains_remove(call: Call, app: str, request: Domain) -> dict[str, Any]:
    """Stop serving the app on a host name added with domains:add: a new release."""
    from shipway import lifecycle

    target = call.target(app)
    outcome = lifecycle.remove_domain(target, request.domain, call.timeout, call.progress)
    return _domain_report(outcome, request.domain)


def _domain_report(outcome: Outcome | None, host: str) -> dict[str, Any]:
    from shipway.lifecycle import check_domain

    if outcome is None:
        return {"release": None, "domain": check_domain(host)}
    return release_json(outcome, outcome.release.status) | {"domain": check_domain(host)}


def _report(outcome: Outcome | None, kind: str) -> dict[str, Any]:
    if outcome is None:  # not deployed yet: the first deploy provisions it
        return {"release": None, "addon": kind}
    return release_json(outcome, outcome.release.status) | {"addon": kind}
