"""``connect`` gives a long-running process (the server) the same client, and so the
same open connections to the API server, while the kubeconfig it came from is
unchanged; a changed kubeconfig gives a new client."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.kube.client import connect

CONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "https://127.0.0.1:{port}"}}
users:
- name: u
  user: {{token: not-a-real-token}}
contexts:
- name: one
  context: {{cluster: c, user: u}}
- name: two
  context: {{cluster: c, user: u}}
current-context: one
"""


def test_the_same_kubeconfig_gives_the_same_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(CONFIG.format(port=6443))
    monkeypatch.setenv("KUBECONFIG", str(config))
    first = connect()
    assert connect() is first
    assert connect("two") is not first and connect("two") is connect("two")
    config.write_text(CONFIG.format(port=16443))  # another cluster in the same file
    changed = connect()
    assert changed is not first
    assert "16443" in str(changed.config.cluster.server)
