"""The app's own objects: its namespace, config Secret, one Deployment per process
type, the web Service, an optional Ingress and the release-phase Job."""

from __future__ import annotations

from dataclasses import dataclass

from shipway import objects as o
from shipway.detect.plan import BuildPlan, ProcessPlan
from shipway.render.options import RenderOptions
from shipway.spec.model import AppSpec

HTTP = "http"
SERVICE_PORT = 80


def env_secret_name(app: str) -> str:
    return f"{app}-env"


def namespace(spec: AppSpec, ns: str) -> o.Obj:
    labels = o.labels(spec.name, spec.name, "namespace")
    # Every pod of the app must pass the "restricted" Pod Security Standard.
    labels |= {
        f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": o.metadata(ns, None, labels)}


def env_secret(spec: AppSpec, ns: str, env: dict[str, str]) -> o.Obj:
    return o.secret(env_secret_name(spec.name), ns, o.labels(spec.name, spec.name, "config"), env)


@dataclass(frozen=True)
class AppContext:
    """What every object of one render of the app shares."""

    spec: AppSpec
    plan: BuildPlan
    namespace: str
    image: str
    #: Hash of the config Secret's content: a new value rolls the pods.
    config_hash: str
    release: int | None = None
    #: The Secret the pods take their environment from (default: the app's ``-env``).
    env_secret: str | None = None


def deployment(ctx: AppContext, name: str, process: ProcessPlan) -> o.Obj:
    spec = ctx.spec
    labels = o.labels(spec.name, spec.name, name)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": o.metadata(f"{spec.name}-{name}", ctx.namespace, labels),
        "spec": {
            "replicas": process.replicas,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": 300,
            "selector": {"matchLabels": o.selector(spec.name, name)},
            # Never fewer ready pods than asked for while a new release rolls out.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": template_annotations(ctx),
                },
                "spec": pod_spec(ctx, name, process, "Always"),
            },
        },
    }


def template_annotations(ctx: AppContext) -> dict[str, str]:
    release = {o.RELEASE: str(ctx.release)} if ctx.release is not None else {}
    return {o.ANNOTATION_CONFIG_HASH: ctx.config_hash, **release}


def pod_spec(ctx: AppContext, name: str, process: ProcessPlan, restart: str) -> o.Obj:
    pod: o.Obj = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": o.pod_security(o.APP_UID),
        "terminationGracePeriodSeconds": 30,
        "containers": [container(ctx, name, process)],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    if restart != "Always":
        pod["restartPolicy"] = restart
    return pod


def container(ctx: AppContext, name: str, process: ProcessPlan) -> o.Obj:
    plan = ctx.plan
    box: o.Obj = {"name": name, "image": ctx.image, "imagePullPolicy": "IfNotPresent"}
    if process.argv is not None:
        # Kubernetes would expand "$(NAME)" itself; "$$(" keeps it for the shell, as Docker.
        box["command"] = [part.replace("$(", "$$(") for part in process.argv]
    if name == "web":
        box["ports"] = [{"name": HTTP, "containerPort": plan.port, "protocol": "TCP"}]
    box["env"] = [{"name": "PORT", "value": str(plan.port)}]
    box["envFrom"] = [{"secretRef": {"name": ctx.env_secret or env_secret_name(ctx.spec.name)}}]
    if name == "web":
        box |= web_probes(plan, ctx.spec.domains[0] if ctx.spec.domains else "localhost")
        # Stay up while endpoints drop this pod, so no request meets a closed port.
        box["lifecycle"] = {"preStop": {"sleep": {"seconds": 5}}}
    box["resources"] = {
        "requests": {"cpu": process.resources.cpu, "memory": process.resources.memory},
        "limits": {"cpu": "1", "memory": process.resources.memory},
    }
    box["securityContext"] = o.container_security(read_only_root=ctx.spec.read_only)
    box["volumeMounts"] = [{"name": "tmp", "mountPath": "/tmp"}]
    return box


def web_probes(plan: BuildPlan, host: str) -> o.Obj:
    """Liveness only asks whether the port is open: a database outage must not restart
    the app. Readiness uses the health-check path when the app has one, sent with a
    ``Host`` the app accepts: the kubelet's default, the pod's IP, gets a 400 from apps
    that check it (Django's ``ALLOWED_HOSTS``)."""
    ready = (
        {
            "httpGet": {
                "path": plan.healthcheck,
                "port": HTTP,
                "httpHeaders": [{"name": "Host", "value": host}],
            },
            "periodSeconds": 5,
            "failureThreshold": 3,
            "timeoutSeconds": 3,
        }
        if plan.healthcheck
        else o.tcp_probe(HTTP, 5, 3)
    )
    return {
        "readinessProbe": ready,
        "livenessProbe": o.tcp_probe(HTTP, 10, 3),
        # Checked every second while the app boots (2 minutes at most): a new release
        # takes traffic as soon as it listens, not up to a period later.
        "startupProbe": o.tcp_probe(HTTP, 1, 120),
    }


def service(spec: AppSpec, ns: str, expose: str) -> o.Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": o.metadata(spec.name, ns, o.labels(spec.name, spec.name, "web")),
        "spec": {
            "type": "NodePort" if expose == "nodeport" else "ClusterIP",
            "selector": o.selector(spec.name, "web"),
            "ports": [{"name": HTTP, "port": SERVICE_PORT, "targetPort": HTTP, "protocol": "TCP"}],
        },
    }


def ingress(spec: AppSpec, ns: str, options: RenderOptions) -> o.Obj:
    backend = {"service": {"name": spec.name, "port": {"name": HTTP}}}
    http = {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}
    rules = [{"host": d, "http": http} for d in spec.domains] or [{"http": http}]
    body: o.Obj = {"rules": rules}
    if options.ingress_class:
        body = {"ingressClassName": options.ingress_class, **body}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": o.metadata(spec.name, ns, o.labels(spec.name, spec.name, "web")),
        "spec": body,
    }


def release_job(ctx: AppContext) -> o.Obj:
    """Heroku's release phase: one run per image and config, e.g. migrations."""
    spec, plan = ctx.spec, ctx.plan
    assert plan.release is not None
    process = ProcessPlan(command=plan.release, replicas=1, resources=spec.resources)
    run_hash = o.content_hash([ctx.image, plan.release, ctx.config_hash])[:10]
    labels = o.labels(spec.name, spec.name, "release")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": o.metadata(f"{spec.name}-release-{run_hash}", ctx.namespace, labels),
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {"labels": labels},
                "spec": pod_spec(ctx, "release", process, "Never"),
            },
        },
    }


def one_off_pod(ctx: AppContext, name: str, command: list[str]) -> o.Obj:
    """A pod for ``shipway run``: the app's image, env and limits, with the app's labels
    so its addons' NetworkPolicies admit it, running ``command`` once."""
    process = ProcessPlan(command=command, replicas=1, resources=ctx.spec.resources)
    labels = o.labels(ctx.spec.name, ctx.spec.name, "run")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": o.metadata(name, ctx.namespace, labels),
        "spec": pod_spec(ctx, "run", process, "Never"),
    }
