"""The app's files overlaid with what its users set in the cluster.

As on Heroku, a database can be added to an app without a line in its repository
(``shipway addons:create``). Such settings are kept beside the releases; each deploy
reads the files, then adds them. The same addon in both places is fine as long as they
agree: a field set differently in both is an error that names both, since silently
preferring one would run a database version nobody asked for.
"""

from __future__ import annotations

from shipway.errors import Location, SpecError
from shipway.spec.model import AppSpec, Service
from shipway.spec.partial import Partial

CLI = "`shipway addons:create`"


def with_added_addons(spec: AppSpec, added: dict[str, Service], sources: Partial) -> AppSpec:
    """``spec`` with the addons created from the CLI that its files do not declare."""
    services: dict[str, Service] = {str(k): v for k, v in spec.services.items()}
    for kind, service in sorted(added.items()):
        declared = services.get(kind)
        if declared is None:
            services[kind] = service
            continue
        for field in sorted(declared.model_fields_set & service.model_fields_set):
            mine, theirs = getattr(declared, field), getattr(service, field)
            if mine != theirs:
                raise SpecError(
                    _where(sources, kind, field),
                    f"services.{kind}.{_alias(field)}",
                    f"is '{mine}' here but {CLI} set '{theirs}'",
                    "keep the setting in one place: remove it from the file, or run "
                    f"addons:destroy and addons:create {kind} again",
                )
        services[kind] = declared.model_copy(
            update={f: getattr(service, f) for f in service.model_fields_set}
        )
    return spec.model_copy(update={"services": services})


def with_added_domains(spec: AppSpec, added: list[str]) -> AppSpec:
    """``spec`` with the host names added with ``domains:add`` after its files' own."""
    extra = [host for host in added if host not in spec.domains]
    return spec.model_copy(update={"domains": [*spec.domains, *extra]}) if extra else spec


def _alias(field: str) -> str:
    return Service.model_fields[field].alias or field


def _where(sources: Partial, kind: str, field: str) -> Location | str:
    for path in (("services", kind, _alias(field)), ("services", kind, field)):
        if path in sources:
            return sources[path].where
    found = [item.where for path, item in sources.items() if path[:2] == ("services", kind)]
    return found[0] if found else "the app's files"
