"""An existing ServiceAccount whose chart set eks.amazonaws.com/role-arn: the patch forces the
annotation, and the preview reads the live object (a real HTTP API on 127.0.0.1, through the
kubernetes client) and warns when it replaces another role's ARN."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pulumi
import pytest
import yaml
from test_program import DEV, run

from irsa import iam_names
from irsa.components import workload

OTHER_ARN = "arn:aws:iam::111122223333:role/charts/external-dns-from-values"


class FakeApiServer(BaseHTTPRequestHandler):
    """GET of one ServiceAccount, as kube-apiserver answers it; 404 for any other."""

    accounts: dict[str, dict] = {}

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = self.accounts.get(self.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                             "reason": "NotFound", "code": 404}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApiServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeApiServer.accounts = {}
    kubeconfig = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]})
    try:
        yield kubeconfig
    finally:
        server.shutdown()


def serve(namespace, name, annotations):
    FakeApiServer.accounts[f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}"] = {
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations}}


def test_the_live_annotation_is_read(api_server):
    serve("kube-system", "external-dns", {"eks.amazonaws.com/role-arn": OTHER_ARN, "meta.helm.sh/release-name": "x"})
    assert workload.live_role_arn(api_server, "kube-system", "external-dns") == OTHER_ARN
    serve("kube-system", "bare", {})
    assert workload.live_role_arn(api_server, "kube-system", "bare") is None
    with pytest.raises(LookupError):
        workload.live_role_arn(api_server, "kube-system", "missing")


@pytest.fixture
def logged(monkeypatch):
    found = {"warn": [], "info": []}
    monkeypatch.setattr(pulumi.log, "warn", lambda message, resource=None, **_: found["warn"].append(message))
    monkeypatch.setattr(pulumi.log, "info", lambda message, resource=None, **_: found["info"].append(message))
    return found


@pytest.mark.parametrize("annotations, warned", [
    ({"eks.amazonaws.com/role-arn": OTHER_ARN}, True),
    ({"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mine"}, False),  # already ours
    ({"eks.amazonaws.com/role-arn": "arn:aws-cn:iam::123456789012:role/k8s/mine"}, False),  # path, partition
    ({}, False),
])
def test_a_preview_warns_only_when_another_role_is_replaced(api_server, logged, annotations, warned):
    serve("kube-system", "external-dns", annotations)
    workload._warn_when_replacing(api_server, "kube-system", "external-dns", "mine", None)
    assert bool(logged["warn"]) is warned, logged
    if warned:
        assert OTHER_ARN in logged["warn"][0] and "role mine" in logged["warn"][0]


def test_an_unreadable_cluster_is_said_not_fatal(api_server, logged):
    workload._warn_when_replacing(api_server, "kube-system", "missing", "mine", None)
    assert not logged["warn"] and "could not read ServiceAccount kube-system/missing" in logged["info"][0]


@pytest.mark.parametrize("preview", [True, False])
def test_the_program_checks_existing_accounts_in_a_preview_only(pulumi_mocks, monkeypatch, logged, preview):
    seen = []

    def live(kubeconfig, namespace, name):
        seen.append((namespace, name))
        return OTHER_ARN

    monkeypatch.setattr(workload, "live_role_arn", live)
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: preview)
    accounts = [{"namespace": "kube-system", "name": "external-dns", "existing": True},
                {"namespace": "default", "name": "app"}]
    run(pulumi_mocks, {**DEV, "irsa:serviceAccounts": json.dumps(accounts)})
    if not preview:
        assert seen == [], "an update does not read: it is the preview that warns"
        return
    assert seen == [("kube-system", "external-dns")], "only the existing ServiceAccount is read"
    assert any("kube-system/external-dns" in w and OTHER_ARN in w for w in logged["warn"])


@pytest.mark.parametrize("arn, name", [
    ("arn:aws:iam::123456789012:role/k8s_default_app", "k8s_default_app"),
    ("arn:aws-us-gov:iam::123456789012:role/a/b/c", "c"),
    ("arn:aws:iam::123456789012:user/c", None),
    ("not an arn", None),
])
def test_role_name_in_arn(arn, name):
    assert iam_names.role_name_in_arn(arn) == name
