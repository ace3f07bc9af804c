"""``shipway server install``'s objects (pure): valid for Kubernetes 1.34, pods within
the restricted Pod Security Standard, no secret in plain sight; the RBAC it grants is the
written least; the first admin comes from a token's digest only."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from shipway import accounts, bootstrap, grants
from shipway.db.engine import migrate, open_engine, sessions, url_for
from shipway.deploy import _tags_at
from shipway.errors import ShipwayError
from shipway.install import manifests, rbac
from shipway.platform import Platform
from tests.helpers.pss import pod_templates, violations

KUBERNETES_VERSION = "1.34.0"
TOKEN = "shp_" + "x" * 43
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()


def every_object(database: str | None = None) -> list[dict[str, Any]]:
    opts = manifests.Options(
        server_image="127.0.0.1:30500/shipway/server@sha256:" + "a" * 64,
        registry_image="127.0.0.1:5110/shipway/registry@sha256:" + "b" * 64,
        database=database,
        admin_digest=DIGEST,
        platform_env=(("SHIPWAY_REGISTRY", manifests.REGISTRY_SERVICE),),
    )
    return [
        manifests.namespace(),
        *rbac.objects(),
        *manifests.registry_objects(opts),
        *manifests.server_objects(opts),
    ]


@pytest.mark.parametrize("database", [None, "postgresql://u:pw@db/shipway"])
def test_objects_are_valid_and_restricted(database: str | None) -> None:
    objects = every_object(database)
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    templates = pod_templates(objects)
    assert {name for name, _ in templates} == {
        "Deployment/shipway-registry",
        "Deployment/shipway-server",
    }
    for name, pod in templates:
        assert violations(pod) == [], name
        for container in pod["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
    labels = manifests.namespace()["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_outside_secrets() -> None:
    """The database URL lives in a Secret; the token never appears, only its digest (in
    a Secret); the pod spec refers to them by name."""
    objects = every_object("postgresql://u:pw@db/shipway")
    for obj in objects:
        text = json.dumps(obj)
        assert TOKEN not in text
        if obj["kind"] != "Secret":
            assert "pw@db" not in text and DIGEST not in text, obj["kind"]


def test_rbac_is_the_written_least() -> None:
    server = rbac.server_cluster_role()["rules"]
    # Cluster-wide: namespaces, role bindings, and binding exactly one ClusterRole.
    assert {(tuple(r["apiGroups"]), tuple(r["resources"])) for r in server} == {
        (("",), ("namespaces",)),
        (("rbac.authorization.k8s.io",), ("rolebindings",)),
        (("rbac.authorization.k8s.io",), ("clusterroles",)),
        (("",), ("nodes",)),
    }
    bind = next(r for r in server if r["resources"] == ["clusterroles"])
    assert bind == {
        "apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["clusterroles"],
        "verbs": ["bind"],
        "resourceNames": [grants.APP_MANAGER],
    }
    nodes = next(r for r in server if r["resources"] == ["nodes"])
    assert nodes["verbs"] == ["get", "list"]
    # No secrets, and nothing else, outside the app namespaces.
    assert not any("secrets" in r["resources"] or "*" in r["verbs"] for r in server)
    app = rbac.app_manager_cluster_role()["rules"]
    assert not any("*" in r["verbs"] or "*" in r["resources"] for r in app)
    assert not any({"roles", "rolebindings", "namespaces"} & set(r["resources"]) for r in app)


def test_admission_policy_names_the_server_and_the_label() -> None:
    policy = json.dumps(rbac.admission_policy())
    assert rbac.username() in policy
    assert "app.kubernetes.io/managed-by" in policy and "namespaceObject" in policy
    assert rbac.admission_binding()["spec"]["validationActions"] == ["Deny"]


def test_grant_only_in_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(grants.ENV, raising=False)
    grants.grant(None, "app")  # type: ignore[arg-type]  # outside a cluster: no call at all
    monkeypatch.setenv(grants.ENV, "shipway-system:shipway-server")
    assert grants.service_account() == ("shipway-system", "shipway-server")
    binding = grants.role_binding("app", ("shipway-system", "shipway-server"))
    kubernetes_validate.validate(binding, KUBERNETES_VERSION, strict=True)
    assert binding["roleRef"]["name"] == grants.APP_MANAGER


def test_first_admin_from_a_digest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_engine(url_for(None, tmp_path))
    migrate(engine)
    made = sessions(engine)
    with made.begin() as session:
        assert bootstrap.first_admin(session) is None  # nothing asked
    monkeypatch.setenv(bootstrap.EMAIL_ENV, "root@example.com")
    monkeypatch.setenv(bootstrap.DIGEST_ENV, DIGEST)
    with made.begin() as session:
        assert bootstrap.first_admin(session) == "root@example.com"
    with made.begin() as session:
        user = accounts.user_of_token(session, TOKEN)
        assert (user.email, user.site_admin) == ("root@example.com", True)
        # A server with users ignores it (a second install, a restart).
        assert bootstrap.first_admin(session) is None


def test_insecure_registry_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_INSECURE_REGISTRY", "true")
    assert Platform().with_env().insecure_registry is True
    monkeypatch.setenv("SHIPWAY_INSECURE_REGISTRY", "false")
    assert Platform().with_env().insecure_registry is False


def test_platform_maps_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPWAY_BASE_IMAGES", '{"3.11": "reg:5000/base/python:3.11"}')
    monkeypatch.setenv("SHIPWAY_ADDON_IMAGES", '{"redis": "127.0.0.1:30500/mirror/redis"}')
    platform = Platform(base_images={"3.13": "elsewhere"}).with_env()
    assert platform.base_images == {"3.11": "reg:5000/base/python:3.11"}
    assert platform.addon_images == {"redis": "127.0.0.1:30500/mirror/redis"}
    monkeypatch.setenv("SHIPWAY_BASE_IMAGES", "[1]")
    with pytest.raises(ShipwayError, match=r"^\$SHIPWAY_BASE_IMAGES is not a JSON object"):
        Platform().with_env()


def test_addon_tags_are_listed_where_shipway_pushes() -> None:
    asked: list[str] = []

    def tags(repo: str) -> list[str]:
        asked.append(repo)
        return []

    pull, push = "127.0.0.1:30500/", "shipway-registry.shipway-system.svc.cluster.local:5000/"
    _tags_at(tags, pull, push, "127.0.0.1:30500/mirror/mongo")
    _tags_at(tags, pull, push, "docker.io/library/mongo")
    assert asked == [push + "mirror/mongo", "docker.io/library/mongo"]


def test_ca_bundle_is_mounted_for_package_installs() -> None:
    opts = manifests.Options(server_image="s", registry_image=None, ca_bundle="PEM")
    objects = manifests.server_objects(opts)
    bundle = next(o for o in objects if o["metadata"]["name"] == manifests.CA_BUNDLE)
    assert bundle["kind"] == "ConfigMap" and bundle["data"] == {"ca-certificates.crt": "PEM"}
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env["SSL_CERT_FILE"] == env["PIP_CERT"] == manifests.CA_FILE
