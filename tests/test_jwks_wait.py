"""The wait between publishing keys and signing with them: the script alone, over HTTPS, and in the graph."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.https_issuer import DocumentServer, Reply, make_ca

from conftest import ROOT, run_program, stack_file_config
from irsa import jwks_wait

ISSUER = "https://issuer.example/cluster"


class FakeIssuer:
    """Answers ``get`` like an issuer whose JWKS changes after some looks; a clock that sleep advances."""

    def __init__(self, kid_lists, cache_control="max-age=300"):
        self.kid_lists = list(kid_lists)
        self.cache_control = cache_control
        self.now = 1000.0
        self.looks = 0

    def get(self, url):
        if url == ISSUER + "/.well-known/openid-configuration":
            return json.dumps({"issuer": ISSUER, "jwks_uri": ISSUER + "/openid/v1/jwks"}).encode(), None
        assert url == ISSUER + "/openid/v1/jwks", url
        kids = self.kid_lists[min(self.looks, len(self.kid_lists) - 1)]
        self.looks += 1
        return json.dumps({"keys": [{"kid": k, "kty": "RSA"} for k in kids]}).encode(), self.cache_control

    def sleep(self, seconds):
        assert seconds > 0, "a wait loop must never spin"
        self.now += seconds

    def run(self, kids, timeout=900, interval=10, fresh=False):
        lines = []
        problem = jwks_wait.wait(ISSUER, kids, timeout, interval, get=self.get, clock=lambda: self.now,
                                 sleep=self.sleep, log=lines.append, fresh=fresh)
        return problem, lines


@pytest.mark.parametrize(("header", "seconds"), [
    ("max-age=300", 300), ("public, max-age=300", 300), ("s-maxage=60, max-age=300", 60),
    ("max-age=300, S-MAXAGE=30", 30), ("no-cache", 0), (None, 0), ("max-age=abc", 0), ("", 0),
])
def test_max_age_reads_what_shared_caches_obey(header, seconds):
    assert jwks_wait.max_age(header) == seconds


def test_waits_for_the_new_key_then_for_old_copies_to_expire():
    issuer = FakeIssuer([["old"], ["old"], ["old", "new"]])
    problem, lines = issuer.run(["new", "old"])
    assert problem is None
    assert issuer.looks >= 3
    # Seen at the third look (t=1020), then held until start + max-age.
    assert issuer.now == 1300.0
    assert any("waiting for the issuer to serve key id new" in line for line in lines)


def test_already_served_still_outlasts_the_cache():
    issuer = FakeIssuer([["new"]], cache_control="max-age=60")
    assert issuer.run(["new"])[0] is None
    assert issuer.now == 1060.0


def test_a_first_publication_waits_only_until_served():
    # No earlier version was public, so no copy can be cached: max-age does not count.
    issuer = FakeIssuer([[], [], ["new"]], cache_control="max-age=300")
    problem, lines = issuer.run(["new"], fresh=True)
    assert problem is None
    assert issuer.now == 1020.0 and issuer.looks == 3
    assert not any("max-age" in line for line in lines)


def test_no_caching_means_no_extra_wait():
    issuer = FakeIssuer([["new"]], cache_control="no-store")
    assert issuer.run(["new"])[0] is None
    assert issuer.now == 1000.0 and issuer.looks == 1


def test_timeout_names_the_missing_key_and_says_nothing_changed():
    issuer = FakeIssuer([["old"]])
    problem, _ = issuer.run(["new", "old"], timeout=60)
    assert problem.startswith(f"the issuer {ISSUER} is not ready after 60s: its JWKS does not list key id new.")
    assert "The API server was not changed" in problem
    assert issuer.now >= 1060.0


def test_timeout_while_caches_turn_over_says_so():
    issuer = FakeIssuer([["new"]], cache_control="max-age=3000")
    problem, _ = issuer.run(["new"], timeout=100)
    assert "caches may still hold the previous JWKS (max-age 3000s)" in problem


def test_unreachable_issuer_is_reported_with_its_cause():
    def get(url):
        raise jwks_wait.urllib.error.URLError("connection refused")

    problem = jwks_wait.wait(ISSUER, ["new"], 20, 10, get=get, clock=iter(range(0, 1000, 10)).__next__,
                             sleep=lambda s: None, log=lambda line: None)
    assert "cannot fetch from https://issuer.example/cluster: connection refused" in problem


def test_the_script_over_https_waits_for_a_changing_jwks(tmp_path):
    ca, bundle = make_ca(tmp_path)
    server = DocumentServer(ca)
    try:
        issuer_url = server.origin + "/org/repo/refs/heads/main"
        server.put_json("/org/repo/refs/heads/main/.well-known/openid-configuration",
                        {"issuer": issuer_url, "jwks_uri": issuer_url + "/jwks.json"})
        looks = []

        def jwks(request):
            looks.append(request.headers.get("cache-control"))
            kids = ["kid-old"] if len(looks) < 3 else ["kid-old", "kid-new"]
            body = json.dumps({"keys": [{"kty": "RSA", "kid": k} for k in kids]}).encode()
            return Reply(200, body, "text/plain; charset=utf-8", (("Cache-Control", "max-age=1"),))

        server.routes["/org/repo/refs/heads/main/jwks.json"] = jwks
        done = subprocess.run(
            [sys.executable, str(ROOT / "irsa" / "jwks_wait.py"), "--interval", "0.2", "--timeout", "30",
             issuer_url, "kid-new", "kid-old"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "SSL_CERT_FILE": str(bundle)},
        )
        assert done.returncode == 0, done.stderr
        assert len(looks) >= 3
        assert looks == [None] * len(looks), "asking caches for a fresh copy would hide what STS sees"
        assert "waiting for the issuer to serve key id kid-new" in done.stdout

        missing = subprocess.run(
            [sys.executable, str(ROOT / "irsa" / "jwks_wait.py"), "--interval", "0.2", "--timeout", "1",
             issuer_url, "kid-other"],
            capture_output=True, text=True, timeout=60, env={**os.environ, "SSL_CERT_FILE": str(bundle)},
        )
        assert missing.returncode == 1
        assert "its JWKS does not list key id kid-other" in missing.stderr
    finally:
        server.close()


def test_the_script_refuses_a_plain_http_issuer():
    done = subprocess.run([sys.executable, str(ROOT / "irsa" / "jwks_wait.py"), "http://x.example", "k"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "must start with https://" in done.stderr


DEV = stack_file_config(ROOT / "Pulumi.dev.yaml")


def test_host_signs_only_after_the_issuer_serves_the_keys(pulumi_mocks):
    pulumi_mocks.run(lambda: run_program(DEV))
    wait = pulumi_mocks.one("command:local:Command")
    words = wait.inputs["create"].split()
    kids = pulumi_mocks.stack_outputs["signingKeyIds"].value
    # The first publication waits only until served; a changed key set also waits out max-age.
    assert words[:5] == ["python3", "irsa/jwks_wait.py", "--timeout", "900", "--fresh"]
    assert words[5:] == [pulumi_mocks.stack_outputs["issuerUrl"].value, *kids]
    assert wait.inputs["update"].split() == words[:4] + words[5:]
    assert (ROOT / words[1]).is_file()
    for f in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile"):
        assert f.urn in pulumi_mocks.all_dependencies(wait)
    # The single node's accept step signs at once: it waits.
    accept = pulumi_mocks.by_name("cluster-apiserver-accept")
    assert wait.urn in pulumi_mocks.all_dependencies(accept)
    # Signing comes after accepting on every node, so after the wait too.
    assert accept.urn in pulumi_mocks.all_dependencies(pulumi_mocks.by_name("cluster-apiserver-sign"))


def test_no_wait_when_turned_off(pulumi_mocks):
    pulumi_mocks.run(lambda: run_program({**DEV, "irsa:issuerWaitSeconds": "0"}))
    assert not pulumi_mocks.of_type("command:local:Command")
    host = pulumi_mocks.by_name("cluster-apiserver-accept")
    for f in pulumi_mocks.of_type("github:index/repositoryFile:RepositoryFile"):
        assert f.urn in pulumi_mocks.all_dependencies(host)


def test_a_hand_made_jwks_at_the_same_url_keeps_the_max_age_wait_on_the_first_publication(pulumi_mocks):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    hand_made = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    pulumi_mocks.run(lambda: run_program({**DEV, "irsa:extraPublicKeys": json.dumps([hand_made])}))
    assert "--fresh" not in pulumi_mocks.one("command:local:Command").inputs["create"].split()
