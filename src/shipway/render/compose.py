"""The Kubernetes objects of an app: every object in a fixed order, from its parts in
``render.app`` and the addons."""

from __future__ import annotations

from shipway import objects as o
from shipway.addons import ADDONS, Binding, password_key, tls
from shipway.detect.plan import BuildPlan
from shipway.errors import SpecError
from shipway.render import app
from shipway.render.options import RenderOptions
from shipway.spec.model import AppSpec


def generated_env_key(name: str) -> str:
    return f"env.{name}"


def secrets_needed(spec: AppSpec) -> list[str]:
    """Names of the generated values render needs (addon passwords, generated vars)."""
    return sorted(
        [password_key(kind) for kind in spec.services]
        + [generated_env_key(var) for var in spec.generated_env]
    )


def render(
    spec: AppSpec, plan: BuildPlan, options: RenderOptions, credentials: dict[str, str]
) -> list[o.Obj]:
    _check_exposure(spec, plan, options)
    ns = options.namespace or spec.name
    bindings: dict[str, Binding] = {
        kind: _binding(spec, kind, ns, options, credentials) for kind in spec.services
    }
    env = _app_env(spec, bindings, credentials)
    config_hash = o.content_hash(env)
    objects = [app.namespace(spec, ns), app.env_secret(spec, ns, env)]
    for kind, binding in bindings.items():
        objects.extend(ADDONS[kind].objects(binding))
    ctx = app.AppContext(spec, plan, ns, options.image, config_hash, options.release)
    for name, process in plan.processes.items():
        objects.append(app.deployment(ctx, name, process))
    if plan.web:
        objects.append(app.service(spec, ns, options.expose))
        if spec.domains or options.expose == "ingress":
            objects.append(app.ingress(spec, ns, options))
    if plan.release:
        objects.append(app.release_job(ctx))
    return objects


def _check_exposure(spec: AppSpec, plan: BuildPlan, options: RenderOptions) -> None:
    if plan.web is None and (spec.domains or options.expose != "clusterip"):
        asked = "domains" if spec.domains else f"--expose {options.expose}"
        raise SpecError(
            "app",
            "processes.web",
            f"{asked} needs a web process but the app "
            f"has only {', '.join(plan.processes) or 'no processes'}",
            "add 'web: <command>' to the Procfile, or drop the exposure",
        )


def _binding(
    spec: AppSpec, kind: str, ns: str, options: RenderOptions, credentials: dict[str, str]
) -> Binding:
    addon = ADDONS[kind]
    service = spec.services[kind]  # type: ignore[index]
    return Binding(
        app=spec.name,
        namespace=ns,
        service=service,
        password=credentials[password_key(kind)],
        image=addon.image(service, options.addon_repositories.get(kind)),
        tls=tls.from_credentials(kind, credentials),
    )


def _app_env(
    spec: AppSpec, bindings: dict[str, Binding], credentials: dict[str, str]
) -> dict[str, str]:
    """Addon URLs, generated values, then the user's vars, which win on a clash."""
    env: dict[str, str] = {}
    for kind, binding in bindings.items():
        env |= ADDONS[kind].app_env(binding)
    for var in spec.generated_env:
        env[var] = credentials[generated_env_key(var)]
    return env | dict(spec.env)
