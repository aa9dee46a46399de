"""verify's issuer-host check against a local HTTPS host: Content-Type, caching, response
time and, for S3, what else the bucket shows anonymously. Findings are warnings.

The host is the test HTTPS server; its answers (headers, status codes for S3's
list/probe URLs) are set per case. Time is a fake clock, so no test depends on speed.
"""

from __future__ import annotations

import itertools

import pytest
from support.https_issuer import DocumentServer, Reply, make_ca

from irsa import oidc
from irsa.verify.broken import Concern
from irsa.verify.chain import FAIL, OK, WARN, Chain, Check, Inputs, Result, exit_status, run
from irsa.verify.checks import CHECKS, check_issuer_host
from irsa.verify.command import render_json, render_text

ROLE = "arn:aws:iam::123456789012:role/k8s_default_aws-cli"
JWKS = b'{"keys": []}'


@pytest.fixture(scope="module")
def https(tmp_path_factory):
    ca, bundle = make_ca(tmp_path_factory.mktemp("ca"))
    server = DocumentServer(ca)
    yield server, str(bundle)
    server.close()


def serve(server: DocumentServer, prefix: str, **reply) -> str:
    """Publish a discovery document and JWKS under ``prefix``; return the issuer URL."""
    issuer = server.origin + prefix
    discovery = oidc.to_json({"issuer": issuer, "jwks_uri": issuer + oidc.JWKS_PATH}).encode()
    server.routes[prefix + oidc.DISCOVERY_PATH] = Reply(200, discovery, **reply)
    server.routes[prefix + oidc.JWKS_PATH] = Reply(200, JWKS, **reply)
    return issuer


def host_check(issuer: str, bundle: str, **options) -> list[Result]:
    """The checks up to issuer-host, against this issuer (no token or AWS needed)."""
    inputs = Inputs(issuer_url=issuer, namespace="default", name="aws-cli", role_arn=ROLE,
                    get_token=lambda: "", token_source="unused", ca_bundle=bundle,
                    fetch_options=options.pop("fetch_options", {"backoff": 0.01}), **options)
    wanted = [c for c in CHECKS if c.name in ("discovery", "issuer", "jwks-uri", "issuer-host")]
    return run(Chain.start(inputs), wanted)


def host_result(results: list[Result]) -> Result:
    return next(r for r in results if r.name == "issuer-host")


def test_json_with_a_short_cache_is_fine(https):
    server, bundle = https
    issuer = serve(server, "/good", headers=(("Cache-Control", "public, max-age=60"),))
    result = host_result(host_check(issuer, bundle))
    assert result.status == OK, result
    assert "application/json, Cache-Control public, max-age=60" in result.message


def test_text_plain_is_a_warning_not_a_failure(https):
    server, bundle = https
    issuer = serve(server, "/github-like", content_type="text/plain; charset=utf-8",
                   headers=(("Cache-Control", "max-age=300"),))
    results = host_check(issuer, bundle)
    result = host_result(results)
    assert result.status == WARN
    assert "the discovery document is served as text/plain, not application/json" in result.message
    assert "the JWKS is served as text/plain" in result.message
    assert exit_status(results) == 0


def test_a_long_cache_is_a_warning_and_age_is_reported(https):
    server, bundle = https
    issuer = serve(server, "/cdn", headers=(("Cache-Control", "public, max-age=86400"), ("Age", "42")))
    result = host_result(host_check(issuer, bundle))
    assert result.status == WARN
    assert "may be cached for 24 h (Cache-Control: public, max-age=86400)" in result.message
    assert "Age 42 s" in result.cause


def test_s_maxage_rules_shared_caches(https):
    server, bundle = https
    issuer = serve(server, "/smax", headers=(("Cache-Control", "max-age=60, s-maxage=3600"),))
    assert "may be cached for 60 min" in host_result(host_check(issuer, bundle)).message


def test_a_slow_answer_is_a_warning(https):
    server, bundle = https
    issuer = serve(server, "/slow", headers=(("Cache-Control", "max-age=60"),))
    ticks = itertools.count(step=3)  # every GET "takes" 3 s on this clock
    results = host_check(issuer, bundle, fetch_options={"clock": lambda: next(ticks)})
    result = host_result(results)
    assert result.status == WARN
    assert "the JWKS took 3.0 s; STS gives up after about 5 s" in result.message


def s3_like(server: DocumentServer, list_status: int = 403, probe_status: int = 403,
            policy_status: int = 403) -> None:
    """Answer S3's bucket-level URLs and unknown keys as a bucket with these permissions would."""
    def answer(request):
        if request.path == "/" and "list-type" in request.query:
            return Reply(list_status, b"<ListBucketResult/>", "application/xml")
        if request.path == "/" and request.query in ("policy", "acl"):
            return Reply(policy_status, b"{}", "application/json")
        return Reply(probe_status, b"<Error/>", "application/xml")
    server.fallback = answer


def test_s3_with_only_the_documents_public_is_fine(https):
    server, bundle = https
    issuer = serve(server, "", headers=(("Cache-Control", "public, max-age=60"),))
    s3_like(server)
    result = host_result(host_check(issuer, bundle, issuer_host="s3"))
    assert result.status == OK, result
    assert "S3: only the documents are public" in result.message


@pytest.mark.parametrize(("answers", "finding"), [
    ({"list_status": 200}, "anyone can list the bucket (GET /?list-type=2 answered 200)"),
    ({"probe_status": 404}, "anyone may list the bucket (a missing key answers 404, not 403)"),
    ({"policy_status": 200}, "anyone can read the bucket policy"),
])
def test_s3_showing_more_than_the_documents_is_a_warning(https, answers, finding):
    server, bundle = https
    issuer = serve(server, "", headers=(("Cache-Control", "public, max-age=60"),))
    s3_like(server, **answers)
    result = host_result(host_check(issuer, bundle, issuer_host="s3"))
    assert result.status == WARN
    assert finding in result.message


def test_s3_probes_are_not_made_for_other_hosts(https):
    server, bundle = https
    issuer = serve(server, "/gh", headers=(("Cache-Control", "max-age=60"),))
    s3_like(server, list_status=200)
    before = server.hits["/"]
    assert host_result(host_check(issuer, bundle)).status == OK
    assert server.hits["/"] == before


def test_a_warning_blocks_nothing_and_is_shown_with_cause_and_fix():
    def warns(chain):
        raise Concern("served as text/plain", "the host", "serve JSON")
    inputs = Inputs(issuer_url="https://example.com", namespace="default", name="aws-cli",
                    role_arn=ROLE, get_token=lambda: "", token_source="unused")
    results = run(Chain.start(inputs), [Check("a", "", warns), Check("b", "", lambda c: "fine", ("a",))])
    assert [(r.name, r.status) for r in results] == [("a", WARN), ("b", OK)]
    assert exit_status(results) == 0
    text = render_text(inputs, results)
    assert "warn a  served as text/plain" in text
    assert "cause: the host" in text and "fix:   serve JSON" in text
    assert text.splitlines()[-1] == "all 2 checks passed (1 with warnings)"
    assert '"warnings": [\n    "a"\n  ]' in render_json(inputs, results)
    assert FAIL not in text.split()


def test_the_check_itself_needs_what_was_fetched():
    """Without fetched documents (and not S3) there is nothing to judge: an empty, passing summary."""
    inputs = Inputs(issuer_url="https://example.com", namespace="default", name="aws-cli",
                    role_arn=ROLE, get_token=lambda: "", token_source="unused")
    assert check_issuer_host(Chain.start(inputs)) == ""


def test_the_command_line_names_the_host_or_leaves_it_to_the_url(tmp_path):
    import io
    import json

    from irsa import cli
    from irsa.verify.command import inputs_from

    token = tmp_path / "token"
    token.write_text("a.b.c")
    outputs = json.dumps({"issuerUrl": "https://acme-oidc.s3.eu-west-1.amazonaws.com",
                          "serviceAccountRoles": {"default/aws-cli": ROLE}})

    def parsed(*extra):
        args = cli.parser().parse_args(["verify", "--stack-outputs", "-", "--service-account",
                                        "default/aws-cli", "--token-file", str(token), *extra])
        return inputs_from(args, {}, io.StringIO(outputs))

    assert parsed().issuer_host is None
    assert parsed("--issuer-host", "s3").issuer_host == "s3"
    with pytest.raises(SystemExit):
        parsed("--issuer-host", "gitlab")
