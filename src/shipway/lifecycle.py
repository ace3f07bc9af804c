"""Heroku's app lifecycle without editing the repository: ``create`` an app, add or
remove its databases (``addons:create`` / ``addons:destroy``), all before or after the
first deploy. What these verbs set is kept in the app's namespace (``appstate``) and
joins what the app's files say at every deploy (``spec.overlay``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shipway import appstate, grants, releases
from shipway.addons import ADDONS
from shipway.deploy import addon_versions, platform_for
from shipway.errors import ShipwayError
from shipway.image.progress import Progress, Silent
from shipway.kube import store
from shipway.kube.client import Target
from shipway.objects import content_hash
from shipway.operate import running_release
from shipway.releases import Release
from shipway.releasing import Outcome, next_version, roll_out
from shipway.render import app as app_objects
from shipway.spec.heroku import ADDONS as HEROKU_ADDONS
from shipway.spec.model import DOMAIN, AppSpec, Service


def create(target: Target) -> None:
    """The app's namespace and empty settings; refuses a name that is taken."""
    spec = _named(target.app)
    if appstate.check_namespace(target.client, target.namespace):
        raise ShipwayError(
            f"name '{target.app}' is not available: an app already has namespace "
            f"'{target.namespace}' (see shipway apps)"
        )
    store.apply(
        target.client, app_objects.namespace(spec, target.namespace), f"create {target.app}"
    )
    grants.grant(target.client, target.namespace)


def _named(app: str) -> AppSpec:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?", app):
        raise ShipwayError(
            f"'{app}' is not a valid app name; use lower-case letters, digits and '-', "
            "at most 40 characters"
        )
    return AppSpec(name=app)


@dataclass(frozen=True)
class AddonRequest:
    kind: str
    service: Service


def parse_addon(text: str, storage: str | None = None, env_var: str | None = None) -> AddonRequest:
    """``postgresql``, ``postgresql:15`` or Heroku's ``heroku-postgresql:essential-0``
    (a Heroku plan name is not a version: it is ignored)."""
    name, _, version = text.partition(":")
    kind = HEROKU_ADDONS.get(name)
    if kind is None:
        raise ShipwayError(
            f"unknown addon '{name}'; use one of {', '.join(sorted(ADDONS))} (optionally "
            "with :VERSION, e.g. postgresql:16)"
        )
    given: dict[str, str] = {}
    if version and kind == name:
        given["version"] = version
    if storage:
        given["storage"] = storage
    if env_var:
        given["as"] = env_var
    try:
        return AddonRequest(kind, Service.model_validate(given))
    except ValueError as exc:
        raise ShipwayError(f"addon '{text}': {_first_problem(exc)}") from None


def _first_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
    return str(exc)


def add_addon(
    target: Target, request: AddonRequest, timeout: float, progress: Progress | None = None
) -> Outcome | None:
    """Keep the addon in the app's settings; a running app gets it at once, as a new
    release (None when the app has no release yet: the first deploy provisions it)."""
    _check_exists(target)
    added = appstate.added_addons(target.client, target.namespace, target.app)
    running = running_release(target)
    if request.kind in added or (running and request.kind in running.spec.services):
        raise ShipwayError(
            f"{target.app} already has a {request.kind} addon; see shipway addons {target.app}"
        )
    added[request.kind] = request.service
    appstate.save_added_addons(target.client, target.namespace, target.app, added)
    if running is None:
        return None
    services = {str(k): v for k, v in running.spec.services.items()}
    services[request.kind] = request.service
    return _release(target, running, services, f"Add {request.kind} addon", timeout, progress)


def remove_addon(
    target: Target, kind: str, timeout: float, progress: Progress | None = None
) -> Outcome | None:
    """Take an addon created with ``addons:create`` away, with its data; a running app
    gets a new release without it."""
    _check_exists(target)
    added = appstate.added_addons(target.client, target.namespace, target.app)
    running = running_release(target)
    if kind not in added:
        if running and kind in running.spec.services:
            raise ShipwayError(
                f"{kind} is declared by the app's files, not made with addons:create; "
                "remove it from them and deploy"
            )
        raise ShipwayError(f"{target.app} has no {kind} addon; see shipway addons {target.app}")
    del added[kind]
    appstate.save_added_addons(target.client, target.namespace, target.app, added)
    outcome = None
    if running is not None and kind in running.spec.services:
        services: dict[str, Service] = {k: s for k, s in running.spec.services.items() if k != kind}
        outcome = _release(target, running, services, f"Remove {kind} addon", timeout, progress)
    addon = ADDONS[kind]
    claim = f"data-{addon.name(target.app)}-0"
    store.delete_if_present(
        target.client, "PersistentVolumeClaim", claim, target.namespace, f"delete {kind} data"
    )
    secret = addon.secret_name(target.app)
    what = f"delete the {kind} credentials"
    store.delete_if_present(target.client, "Secret", secret, target.namespace, what)
    return outcome


def check_domain(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    if len(host) > 253 or "." not in host or not re.fullmatch(DOMAIN, host):
        raise ShipwayError(
            f"domain: '{host[:80]}' is not a host name; write one such as app.example.com"
        )
    return host


def add_domain(
    target: Target, host: str, timeout: float, progress: Progress | None = None
) -> Outcome | None:
    """Serve the app on ``host`` too (its Ingress); a running app gets it at once, as a
    new release (None before the first deploy, which then uses it)."""
    host = check_domain(host)
    _check_exists(target)
    added = appstate.added_domains(target.client, target.namespace, target.app)
    running = running_release(target)
    if host in added or (running and host in running.spec.domains):
        raise ShipwayError(f"{target.app} already answers on {host}; see shipway domains")
    appstate.save_added_domains(target.client, target.namespace, target.app, [*added, host])
    if running is None:
        return None
    hosts = [*running.spec.domains, host]
    return _release_spec(
        target, running, {"domains": hosts}, f"Add domain {host}", timeout, progress
    )


def remove_domain(
    target: Target, host: str, timeout: float, progress: Progress | None = None
) -> Outcome | None:
    """Stop serving the app on a host added with ``domains:add``."""
    host = check_domain(host)
    _check_exists(target)
    added = appstate.added_domains(target.client, target.namespace, target.app)
    running = running_release(target)
    if host not in added:
        if running and host in running.spec.domains:
            raise ShipwayError(
                f"{host} is declared by the app's files, not added with domains:add; "
                "remove it from them and deploy"
            )
        raise ShipwayError(f"{target.app} does not answer on {host}; see shipway domains")
    appstate.save_added_domains(
        target.client, target.namespace, target.app, [h for h in added if h != host]
    )
    if running is None or host not in running.spec.domains:
        return None
    hosts = [h for h in running.spec.domains if h != host]
    return _release_spec(
        target, running, {"domains": hosts}, f"Remove domain {host}", timeout, progress
    )


def domains(target: Target) -> dict[str, list[str]]:
    """The host names the app answers on: from its files, and added with domains:add."""
    _check_exists(target)
    added = appstate.added_domains(target.client, target.namespace, target.app)
    running = running_release(target)
    declared = [h for h in (running.spec.domains if running else []) if h not in added]
    return {"declared": declared, "added": added}


def _check_exists(target: Target) -> None:
    if not appstate.check_namespace(target.client, target.namespace):
        raise ShipwayError(
            f"app '{target.app}' does not exist; create it with shipway create {target.app}"
        )


def _release(
    target: Target,
    base: Release,
    services: dict[str, Service],
    description: str,
    timeout: float,
    progress: Progress | None,
) -> Outcome:
    versions, warnings = addon_versions(platform_for(target.client, {}), services, base)
    for warning in warnings:
        (progress or Silent()).step(f"warning: {warning}")
    changes = {"services": services}
    return _release_spec(target, base, changes, description, timeout, progress, versions)


def _release_spec(
    target: Target,
    base: Release,
    changes: dict[str, Any],
    description: str,
    timeout: float,
    progress: Progress | None,
    versions: dict[str, str] | None = None,
) -> Outcome:
    """A new release of ``base`` with its spec changed as ``changes`` say."""
    env = appstate.config_vars(target.client, target.namespace, target.app)
    spec = base.spec.model_copy(update=changes)
    release = base.model_copy(
        update={
            "version": next_version(target),
            "description": description,
            "spec": spec,
            "addon_versions": base.addon_versions if versions is None else versions,
            "spec_hash": content_hash(spec.model_dump(mode="json")),
            "created": releases.now(),
            "by": releases.who(),
            "status": "pending",
        }
    )
    return roll_out(target, release, env, timeout, progress or Silent())
