"""Messages of the verifier that name the cause precisely (found unchecked by mutation testing)."""

import io
import json
import ssl

import pytest
from botocore.exceptions import ClientError

from irsa import cli
from irsa.verify import command, fetch
from irsa.verify import token as tokens
from irsa.verify.aws import error_code, error_message
from irsa.verify.chain import FAIL, OK, SKIP, Inputs, Result
from irsa.verify.command import render_json, render_text


def test_an_unreadable_token_file_names_the_path_and_the_reason(tmp_path):
    missing = tmp_path / "token"
    with pytest.raises(tokens.TokenError) as err:
        tokens.read_file(missing)
    assert str(err.value) == f"cannot read the token file {missing}: No such file or directory"


def test_a_certificate_failure_gives_the_verifier_message_alone():
    error = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] long text")
    error.verify_message = "self-signed certificate in certificate chain"
    assert fetch._tls_reason(error) == "certificate verify failed: self-signed certificate in certificate chain"


# --- the reports (render_text/render_json run in the CLI's child process elsewhere) ------

INPUTS = Inputs(issuer_url="https://issuer.example/x", namespace="default", name="aws-cli",
                role_arn="arn:aws:iam::123456789012:role/r", get_token=lambda: "t", token_source="test")
RESULTS = [
    Result("token", OK, "a JWT"),
    Result("discovery", FAIL, "HTTP 404", cause="not published", fix="pulumi up", sts="Couldn't retrieve"),
    Result("issuer", SKIP, "skipped: needs discovery"),
    Result("s3-prefix", SKIP, "not asked (give --s3-bucket-prefix)"),
    Result("trust", FAIL, "no", cause="c", fix="f"),
]


def test_the_text_report_layout():
    assert render_text(INPUTS, RESULTS) == (
        "verify default/aws-cli → arn:aws:iam::123456789012:role/r\n"
        "issuer https://issuer.example/x, audience sts.amazonaws.com\n"
        "ok   token      a JWT\n"
        "FAIL discovery  HTTP 404\n"
        "                cause: not published\n"
        "                fix:   pulumi up\n"
        "                STS answers: Couldn't retrieve\n"
        "skip issuer     skipped: needs discovery\n"
        "skip s3-prefix  not asked (give --s3-bucket-prefix)\n"
        "FAIL trust      no\n"
        "                cause: c\n"
        "                fix:   f\n"
        "FAILED: discovery, trust — 1 passed, 2 failed, 1 not run (a check they need failed); not asked: s3-prefix\n"
    )
    assert render_text(INPUTS, RESULTS[:1]).endswith("\nall 1 checks passed\n")
    assert render_text(INPUTS, RESULTS[:1] + RESULTS[3:4]).endswith("\n1 of 2 checks passed, none failed; not asked: s3-prefix\n")


def test_the_json_report():
    document = json.loads(render_json(INPUTS, RESULTS))
    assert document == {
        "ok": False, "serviceAccount": "default/aws-cli", "roleArn": "arn:aws:iam::123456789012:role/r",
        "issuerUrl": "https://issuer.example/x", "audience": "sts.amazonaws.com",
        "failed": ["discovery", "trust"],
        "warnings": [],
        "checks": [{"name": r.name, "status": r.status, "message": r.message, "cause": r.cause,
                    "fix": r.fix, "sts": r.sts} for r in RESULTS],
    }
    assert json.loads(render_json(INPUTS, RESULTS[:1]))["ok"] is True
    assert render_json(INPUTS, RESULTS).startswith('{\n  "ok": false,') and render_json(INPUTS, RESULTS).endswith("}\n")


def test_aws_error_codes_and_messages():
    err = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "CreateBucket")
    assert (error_code(err), error_message(err)) == ("AccessDenied", "no")
    bare = ClientError({"Error": {"Code": "X"}}, "CreateBucket")
    assert error_message(bare) == str(bare)
    assert (error_code(ValueError("v")), error_message(ValueError("v"))) == ("", "v")


# --- where --from-cluster finds its kubeconfig --------------------------------------------


def test_kubeconfig_flag_then_first_file_of_the_environment_list():
    assert command._kubeconfig("/flag", {"KUBECONFIG": "/a:/b"}, {}) == "/flag"
    assert command._kubeconfig(None, {"KUBECONFIG": "/a:/b"}, {}) == "/a"
    assert command._kubeconfig(None, {"KUBECONFIG": "/only"}, {"kubeconfig": "x"}) == "/only"


def test_kubeconfig_from_the_stack_outputs():
    assert command._kubeconfig(None, {}, {"kubeconfig": "apiVersion: v1\nkind: Config\n"}) == {
        "apiVersion": "v1", "kind": "Config"}
    assert command._kubeconfig(None, {}, {"kubeconfig": {"kind": "Config"}}) == {"kind": "Config"}


@pytest.mark.parametrize("outputs, message", [
    ({}, "--from-cluster needs a kubeconfig: --kubeconfig, $KUBECONFIG or the stack output kubeconfig"),
    ({"kubeconfig": command.HIDDEN_SECRET}, "the stack output kubeconfig is hidden: run `pulumi stack "
     "output --json --show-secrets`, or give --kubeconfig"),
    ({"kubeconfig": "- a list"}, "the stack output kubeconfig is not a kubeconfig document"),
    ({"kubeconfig": "a: [unclosed"}, "the stack output kubeconfig is not a kubeconfig document"),
])
def test_kubeconfig_problems_say_what_to_do(outputs, message):
    with pytest.raises(command.UsageError) as err:
        command._kubeconfig(None, {}, outputs)
    assert str(err.value) == message


@pytest.mark.parametrize("account", ["a/b/c", "a/", "/b", "ab"])
def test_service_account_must_be_exactly_namespace_slash_name(account):
    args = cli.parser().parse_args(["verify", "--service-account", account, "--issuer-url", "https://i",
                                    "--role-arn", "arn:aws:iam::1:role/r", "--token-file", __file__])
    with pytest.raises(command.UsageError) as err:
        command.inputs_from(args, {}, io.StringIO(""))
    assert str(err.value) == f"--service-account must be NAMESPACE/NAME, got {account!r}"


def test_service_account_or_pod_is_required():
    # --pod names the service account itself, so neither flag is required alone.
    args = cli.parser().parse_args(["verify", "--token-file", __file__])
    with pytest.raises(command.UsageError, match=r"^give --service-account NAMESPACE/NAME or --pod "
                       r"NAMESPACE/NAME \(or --issuer-url alone to check only the issuer\)$"):
        command.inputs_from(args, {}, io.StringIO(""))


@pytest.mark.parametrize("argv", [["--issuer-url", "https://i"], ["--stack-outputs", "-"]])
def test_the_issuer_alone_is_verified_without_a_service_account(argv):
    args = cli.parser().parse_args(["verify", *argv])
    got = command.inputs_from(args, {}, io.StringIO('{"issuerUrl": "https://i"}'))
    assert got.issuer_only and got.issuer_url == "https://i" and got.role_arn == ""


def test_every_flag_reaches_the_inputs(tmp_path):
    token = tmp_path / "token"
    token.write_text("a.b.c\n")
    args = cli.parser().parse_args([
        "verify", "--service-account", "default/aws-cli", "--issuer-url", "https://i",
        "--role-arn", "arn:aws:iam::1:role/r", "--token-file", str(token), "--region", "eu-west-3",
        "--endpoint-url", "http://127.0.0.1:5000", "--ca-bundle", "/ca.pem", "--s3-bucket-prefix", "p"])
    got = command.inputs_from(args, {}, io.StringIO(""))
    assert (got.region, got.endpoint_url, got.ca_bundle, got.s3_bucket_prefix) == (
        "eu-west-3", "http://127.0.0.1:5000", "/ca.pem", "p")
    assert got.token_source == f"from {token}"


@pytest.mark.parametrize("text, message", [
    ("[]", "--stack-outputs {}: expected a JSON object of outputs"),
])
def test_stack_outputs_that_are_not_an_object(tmp_path, text, message):
    path = tmp_path / "outputs.json"
    path.write_text(text)
    with pytest.raises(command.UsageError) as err:
        command.load_stack_outputs(str(path), io.StringIO(""))
    assert str(err.value) == message.format(path)


def test_unreadable_stack_outputs_name_the_file_and_the_reason(tmp_path):
    missing = tmp_path / "none.json"
    with pytest.raises(command.UsageError) as err:
        command.load_stack_outputs(str(missing), io.StringIO(""))
    assert str(err.value) == f"--stack-outputs {missing}: No such file or directory"
