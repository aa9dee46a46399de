"""jwks_wait in process: what one look reports for each kind of failure, and the wait's exact lines."""

from __future__ import annotations

import io
import json
import urllib.error

import pytest

from irsa import jwks_wait
from test_jwks_wait import ISSUER, FakeIssuer

DISCOVERY = ISSUER + jwks_wait.DISCOVERY_PATH
JWKS = ISSUER + "/openid/v1/jwks"


def answers(jwks_body: bytes, cache_control: str | None = "max-age=60"):
    def get(url):
        if url == DISCOVERY:
            return json.dumps({"jwks_uri": JWKS}).encode(), None
        assert url == JWKS
        return jwks_body, cache_control
    return get


def test_a_look_lists_the_key_ids_of_dict_entries_with_a_kid_only():
    served = jwks_wait.look(ISSUER, answers(json.dumps({"keys": [{"kid": "a"}, {"kty": "RSA"}, "b", {"kid": "c"}]})
                                            .encode()))
    assert served == jwks_wait.Served(frozenset({"a", "c"}), 60, "")


def test_an_http_error_is_named_with_its_url_and_code():
    def get(url):
        raise urllib.error.HTTPError(url, 404, "Not Found", {}, io.BytesIO(b""))
    assert jwks_wait.look(ISSUER, get) == jwks_wait.Served(frozenset(), 0, f"{DISCOVERY} answered HTTP 404")


def test_an_unreachable_issuer_is_named_with_the_reason():
    def get(url):
        raise urllib.error.URLError("connection refused")
    assert jwks_wait.look(ISSUER, get) == jwks_wait.Served(
        frozenset(), 0, f"cannot fetch from {ISSUER}: connection refused")

    def timeout(url):
        raise TimeoutError("timed out")
    assert jwks_wait.look(ISSUER, timeout) == jwks_wait.Served(frozenset(), 0, f"cannot fetch from {ISSUER}: timed out")


@pytest.mark.parametrize("body", [b"not json", b'{"no": "keys"}', b'{"keys": 5}'])
def test_documents_sts_cannot_read_are_named(body):
    served = jwks_wait.look(ISSUER, answers(body))
    assert served.key_ids == frozenset() and served.max_age == 0
    assert served.problem.startswith("the issuer's documents are not what STS reads: ")


def test_the_wait_says_what_it_waits_for_in_whole_lines():
    issuer = FakeIssuer([["old"], ["old", "new", "b"]], cache_control="max-age=300")
    problem, lines = issuer.run(["new", "b", "old"], interval=10)
    assert problem is None and issuer.now == 1300.0
    assert lines == [
        "irsa: waiting for the issuer to serve key id b, new",
        "irsa: the issuer serves key ids b, new, old; waiting until copies cached before (max-age 300s) expire"]


def test_no_cache_wait_is_said_when_the_cache_has_turned_over():
    issuer = FakeIssuer([["new"]], cache_control="max-age=0")
    problem, lines = issuer.run(["new"])
    assert problem is None and lines == ["irsa: the issuer serves key ids new"]


def test_a_problem_is_shown_while_waiting():
    looks = []

    def get(url):
        looks.append(url)
        raise urllib.error.URLError("refused")
    logged, slept = [], []
    now = [0.0]

    def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds
    problem = jwks_wait.wait(ISSUER, ["k"], 30, 10, get=get, clock=lambda: now[0], sleep=sleep, log=logged.append)
    assert logged[0] == f"irsa: waiting for the issuer to serve key id k (cannot fetch from {ISSUER}: refused)"
    assert slept == [10, 10, 10] and problem.startswith(
        f"the issuer {ISSUER} is not ready after 30s: cannot fetch from {ISSUER}: refused. ")
    assert problem.endswith("check that the documents were published where the issuer URL points, "
                            "then run pulumi up again")


def test_the_settling_sleep_is_no_longer_than_what_is_left():
    issuer = FakeIssuer([["new"]], cache_control="max-age=25")
    slept = []
    jwks_wait.wait(ISSUER, ["new"], 900, 10, get=issuer.get, clock=lambda: issuer.now,
                   sleep=lambda s: (slept.append(s), issuer.sleep(s)), log=lambda _: None)
    assert slept == [10, 10, 5]
