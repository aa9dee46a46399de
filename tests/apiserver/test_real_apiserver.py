"""The host scripts against a REAL kube-apiserver and etcd (scripts/real-parts).

The host script runs over real SSH exactly as Pulumi runs it; the distribution
layer is a small supervisor (tests/apiserver/real_hosts.py) whose restart (MicroK8s
`snap restart`, k3s `systemctl restart`, kubeadm's kubelet seeing a changed
manifest) starts the real kube-apiserver from the flags the script wrote.
Tokens come from the real TokenRequest API and are judged by the real
TokenReview of every API server: nothing here emulates what kube-apiserver
makes of its flags. Skips without the real parts, except under CI=true.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import jwt
import pytest
from support import real_parts
from support.real_parts import Etcd

from apiserver.fakehost import FIXTURE
from apiserver.harness import AUDIENCE, DEFAULT_ISSUER, ISSUER, Key, host_config
from apiserver.real_hosts import RealHost
from irsa import apiserver, oidc

ORIGINAL = FIXTURE.read_bytes()
OTHER_ISSUER = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/next"
READY_TIMEOUT = 180  # a cold kube-apiserver on two busy cores


@pytest.fixture(scope="module")
def etcd() -> Iterator[Etcd]:
    server = real_parts.start_etcd()
    yield server
    server.stop()


def cluster_pki() -> dict[str, bytes]:
    """The certificates MicroK8s makes at install (certs/), and an admin client pair."""
    ca, ca_key = real_parts.certificate_authority("10.152.183.1")
    front, front_key = real_parts.certificate_authority("front-proxy-ca")
    server = real_parts.issue(ca, ca_key, "127.0.0.1", server=True)
    kubelet = real_parts.issue(ca, ca_key, "kube-apiserver-kubelet-client", groups=("system:masters",))
    proxy = real_parts.issue(front, front_key, "front-proxy-client")
    admin = real_parts.issue(ca, ca_key, "admin", groups=("system:masters",))
    return {
        "ca.crt": ca.cert_pem, "ca.key": ca.key_pem, "server.crt": server.cert_pem,
        "server.key": server.key_pem, "front-proxy-ca.crt": front.cert_pem,
        "front-proxy-client.crt": proxy.cert_pem, "front-proxy-client.key": proxy.key_pem,
        "apiserver-kubelet-client.crt": kubelet.cert_pem, "apiserver-kubelet-client.key": kubelet.key_pem,
        "admin.crt": admin.cert_pem, "admin.key": admin.key_pem,
    }


class Node:
    """One node with a real API server, reached over real SSH."""

    def __init__(self, name: str, host: RealHost, server):
        self.name, self.host, self.server = name, host, server

    def run(self, mode: str, keys, **changes):
        config = host_config(keys, node=self.name, owner_stack="org/irsa/prod",
                             ready_timeout_seconds=READY_TIMEOUT, **changes)
        script = apiserver.host_script(self.host.distribution, config)
        command = (f"export IRSA_HOST_ROOT={self.host.root} PATH={self.host.bin}:$PATH; "
                   + apiserver.command_line(mode))
        return self.server.ssh("root", command, stdin=script, timeout=3 * READY_TIMEOUT)

    def ok(self, mode: str, keys, **changes) -> str:
        result = self.run(mode, keys, **changes)
        assert result.returncode == 0, f"{mode} on {self.name}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        return result.stdout


@pytest.fixture
def make_nodes(ssh_server, microk8s_key, etcd, tmp_path):
    """Nodes of one cluster: one etcd prefix, MicroK8s's own key shared (as `microk8s join` does)."""
    apiserver_binary = real_parts.binary("kube-apiserver")
    pki = cluster_pki()
    prefix = f"/registry-{uuid.uuid4().hex[:8]}"
    made: list[Node] = []

    def make(count: int, distribution: str = "microk8s") -> list[Node]:
        for index in range(count):
            base = tmp_path / f"node{index + 1}"
            base.mkdir()
            host = RealHost(base, distribution).create(microk8s_key.private_pem, apiserver=apiserver_binary,
                                             etcd_url=etcd.url, etcd_prefix=prefix, pki=pki)
            made.append(Node(f"10.0.0.{index + 1}", host, ssh_server))
        for node in made:
            node.host.start()
        return made

    yield make
    for node in made:
        node.host.stop()


def claims_and_header(token: str) -> tuple[dict, dict]:
    return jwt.decode(token, options={"verify_signature": False}), jwt.get_unverified_header(token)


def verify_with_jwks(token: str, document: dict, audience: str = AUDIENCE) -> dict:
    """Verify ``token`` as STS would: the key of its kid in ``document``, RS256, the audience."""
    kid = jwt.get_unverified_header(token)["kid"]
    matching = [k for k in document["keys"] if k["kid"] == kid]
    assert matching, f"kid {kid} is not in the published JWKS"
    key = jwt.PyJWK.from_dict(matching[0]).key
    return jwt.decode(token, key, algorithms=["RS256"], audience=audience)


def public_numbers(jwk: dict) -> tuple[str, str, str]:
    return jwk["kid"], jwk["n"], jwk["e"]


def test_a_configured_node_issues_tokens_the_published_jwks_verifies(make_nodes, keys, microk8s_key):
    (node,) = make_nodes(1)
    client = node.host.client()
    before = client.token(AUDIENCE)
    assert claims_and_header(before)[0]["iss"] == DEFAULT_ISSUER

    out = node.ok("apply", [keys[0]])

    assert "self-check passed" in out
    assert node.host.restarts() == 1
    token = client.token(AUDIENCE)
    claims, header = claims_and_header(token)
    assert claims["iss"] == ISSUER
    assert header == {"alg": "RS256", "kid": keys[0].kid}
    published = oidc.jwks_from_pems([keys[0].public_pem])
    verified = verify_with_jwks(token, published)
    assert verified["sub"] == "system:serviceaccount:default:default"
    # The API server's own JWKS: the published key, plus MicroK8s's own (still accepted
    # for its default issuer), with the same modulus and exponent.
    served = {public_numbers(k) for k in client.jwks()["keys"]}
    assert {public_numbers(k) for k in published["keys"]} <= served
    assert {kid for kid, _, _ in served} == {keys[0].kid, microk8s_key.kid}
    assert client.discovery()["issuer"] == ISSUER
    # Tokens issued before keep working: MicroK8s's own issuer and key stay accepted.
    assert client.review(before, AUDIENCE)["authenticated"] is True
    assert client.review(token, AUDIENCE)["authenticated"] is True


def test_key_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(make_nodes, keys):
    (node,) = make_nodes(1)
    client = node.host.client()
    node.ok("apply", [keys[0]])
    old = client.token(AUDIENCE)

    # The new key signs; the old one stays published and accepted.
    node.ok("apply", [keys[1], keys[0]])

    new = client.token(AUDIENCE)
    assert claims_and_header(new)[1]["kid"] == keys[1].kid
    assert client.review(old, AUDIENCE)["authenticated"] is True
    assert client.review(new, AUDIENCE)["authenticated"] is True
    published = oidc.jwks_from_pems([keys[1].public_pem, keys[0].public_pem])
    verify_with_jwks(old, published)
    verify_with_jwks(new, published)
    served = {k["kid"] for k in client.jwks()["keys"]}
    assert {keys[0].kid, keys[1].kid} <= served


def test_revert_restores_the_flags_and_the_api_server_serves_as_before(make_nodes, keys, microk8s_key):
    (node,) = make_nodes(1)
    client = node.host.client()
    node.ok("apply", [keys[0]])

    node.ok("unsign", [keys[0]])
    node.ok("revert", [keys[0]])

    assert node.host.args_path.read_bytes() == ORIGINAL
    assert client.ready()
    token = client.token(AUDIENCE)
    claims, header = claims_and_header(token)
    assert (claims["iss"], header["kid"]) == (DEFAULT_ISSUER, microk8s_key.kid)
    assert {k["kid"] for k in client.jwks()["keys"]} == {microk8s_key.kid}


def accepted_everywhere(nodes: list[Node], step: str) -> None:
    """A token each node issues now is accepted by every node's real TokenReview."""
    tokens = {n.name: n.host.client().token(AUDIENCE) for n in nodes}
    for issuer_node, token in tokens.items():
        for node in nodes:
            status = node.host.client().review(token, AUDIENCE)
            assert status.get("authenticated") is True, (
                f"after {step}: {node.name} refuses the token {issuer_node} issued "
                f"(iss {claims_and_header(token)[0]['iss']}, kid {claims_and_header(token)[1]['kid']}): {status}")


def test_three_nodes_accept_each_others_tokens_after_every_host_command(make_nodes, keys):
    nodes = make_nodes(3)
    accepted_everywhere(nodes, "nothing")

    def rollout(keyset, **changes):
        for phase in ("accept", "sign", "retire"):
            for node in nodes:
                node.ok(phase, keyset, **changes)
                accepted_everywhere(nodes, f"{phase} on {node.name}")

    rollout([keys[0]])
    for node in nodes:
        claims, header = claims_and_header(node.host.client().token(AUDIENCE))
        assert (claims["iss"], header["kid"]) == (ISSUER, keys[0].kid)
    # A new issuer and a new key at once.
    rollout([keys[1]], issuer_url=OTHER_ISSUER)
    for node in nodes:
        claims, header = claims_and_header(node.host.client().token(AUDIENCE))
        assert (claims["iss"], header["kid"]) == (OTHER_ISSUER, keys[1].kid)
        served = {k["kid"] for k in node.host.client().jwks()["keys"]}
        assert keys[0].kid not in served, "retire drops the old key"
        assert node.host.client().discovery()["issuer"] == OTHER_ISSUER
    # Setup: accept and sign restart, retire has nothing to drop; the change: all three.
    assert [n.host.restarts() for n in nodes] == [5, 5, 5]
    for phase in ("unsign", "revert"):
        for node in reversed(nodes):
            node.ok(phase, [keys[1]], issuer_url=OTHER_ISSUER)
            accepted_everywhere(nodes, f"{phase} on {node.name}")
    for node in nodes:
        assert node.host.args_path.read_bytes() == ORIGINAL
        assert not list(node.host.path("/opt/k8s").iterdir())


def tree(root) -> dict[str, bytes | None]:
    """Every file under ``root`` with its bytes, without irsa's own state (/var/lib/irsa)
    and key folder (/opt/k8s, which stays, empty) and the folders above them."""
    return {name: (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))
            if not ((name := str(p.relative_to(root))) in ("var", "var/lib", "opt")
                    or name.startswith(("var/lib/irsa", "opt/k8s")))}


@pytest.mark.parametrize("distribution", ["k3s", "kubeadm"])
def test_up_second_up_and_destroy_against_the_real_api_server(make_nodes, keys, microk8s_key, distribution):
    (node,) = make_nodes(1, distribution)
    client = node.host.client()
    own_issuer = "https://kubernetes.default.svc.cluster.local"
    assert claims_and_header(client.token(AUDIENCE))[0]["iss"] == own_issuer
    before = tree(node.host.root)
    old = client.token(AUDIENCE)

    node.ok("apply", [keys[0]])

    claims, header = claims_and_header(client.token(AUDIENCE))
    assert (claims["iss"], header["kid"]) == (ISSUER, keys[0].kid)
    assert client.review(old, AUDIENCE)["authenticated"] is True, "the distribution's own issuer stays accepted"
    assert {k["kid"] for k in client.jwks()["keys"]} == {keys[0].kid, microk8s_key.kid}
    restarts = node.host.restarts()
    # A second `up`: nothing to change, nothing restarted.
    node.ok("apply", [keys[0]])
    assert node.host.restarts() == restarts

    node.ok("unsign", [keys[0]])
    node.ok("revert", [keys[0]])

    assert tree(node.host.root) == before
    assert not list(node.host.path("/opt/k8s").iterdir())
    claims, header = claims_and_header(client.token(AUDIENCE))
    assert (claims["iss"], header["kid"]) == (own_issuer, microk8s_key.kid)
