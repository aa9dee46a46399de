"""The admin kubeconfig k3s and kubeadm write, pointed at irsa:apiEndpoint (irsa/apiserver/kubeconfig.py).

k3s writes /etc/rancher/k3s/k3s.yaml naming https://127.0.0.1:6443 (reachable
only on the server itself); kubeadm writes /etc/kubernetes/admin.conf naming
the control-plane endpoint. Both get the operator's endpoint; certificates,
users and contexts stay as the host wrote them.
"""

from __future__ import annotations

import pytest
import yaml

from irsa import apiserver
from irsa.apiserver.kubeconfig import with_server

K3S_YAML = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtREFUQQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
"""

ADMIN_CONF = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtREFUQQ==
    server: https://192.0.2.10:6443
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
"""


@pytest.mark.parametrize(("distribution", "text", "path"), [
    ("k3s", K3S_YAML, "/etc/rancher/k3s/k3s.yaml"),
    ("kubeadm", ADMIN_CONF, "/etc/kubernetes/admin.conf"),
])
def test_admin_kubeconfig_gets_the_api_endpoint_and_keeps_the_rest(distribution, text, path):
    assert f"cat {path}" in apiserver.kubeconfig_command_line(distribution)

    rewritten = yaml.safe_load(with_server(text, "https://cp.example.internal:6443"))

    original = yaml.safe_load(text)
    assert [c["cluster"]["server"] for c in rewritten["clusters"]] == ["https://cp.example.internal:6443"]
    assert rewritten["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0EtREFUQQ=="
    assert rewritten["users"] == original["users"] and rewritten["contexts"] == original["contexts"]
    assert rewritten["current-context"] == original["current-context"]
