"""``irsa verify``: its flags, where its inputs come from, and its report."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from irsa.verify import pod as pods
from irsa.verify import token as tokens
from irsa.verify.chain import (
    DEFAULT_AUDIENCE, FAIL, OK, SKIP, SKIPPED, WARN, Chain, Inputs, Result, exit_status, run,
)
from irsa.verify.checks import CHECKS, ISSUER_CHECKS

EXIT_USAGE = 2
# What `pulumi stack output --json` shows for a secret without --show-secrets.
HIDDEN_SECRET = "[secret]"

DESCRIPTION = """\
Check every link of the IRSA trust chain the way AWS STS does, in STS's order,
and say which one is broken, why, and how to fix it. One line per check: ok,
FAIL (with cause and fix), warn (works, but see cause and fix) or skip (a check
it needs did not pass).
Exit status: 0 when every check passes, 1 when one fails, 2 for bad usage.
Tokens and credentials are never printed.

Checks, in order:
""" + "\n".join(f"  {c.name:<16}{c.what}" for c in CHECKS)

EPILOG = """\
examples:
  irsa verify --issuer-url https://example-org.github.io/oidc-issuer
      (the issuer alone: its discovery document, JWKS and their host; no token, no AWS)
  pulumi stack output --json | irsa verify --stack-outputs - \\
      --service-account default/aws-cli --token-file token.jwt
  pulumi stack output --json --show-secrets | python -m irsa verify --stack-outputs - \
      --pod default/aws-cli-irsa-test
"""


class UsageError(Exception):
    """Inputs that cannot be used: exit status 2."""


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``verify`` to the ``irsa`` sub-commands."""
    verify = commands.add_parser(
        "verify", help="check the whole IRSA trust chain as STS does, and say what is wrong",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inputs = verify.add_argument_group("what to verify")
    inputs.add_argument("--stack-outputs", metavar="FILE",
                        help="the output of `pulumi stack output --json` (a file, or - for stdin); "
                             "gives the issuer URL, the audience, the role of the service account "
                             "and the kubeconfig. Flags below override it")
    inputs.add_argument("--service-account", metavar="NS/NAME",
                        help="the service account whose token is checked, e.g. default/aws-cli "
                             "(with --pod: the pod's)")
    inputs.add_argument("--pod", metavar="NS/NAME",
                        help="also read this pod and its service account from the cluster and check "
                             "that the pod identity webhook mutated it as STS needs; the token is "
                             "then the pod's service account's (--from-cluster unless --token-file)")
    inputs.add_argument("--issuer-url", metavar="URL", help="the issuer URL (stack output issuerUrl)")
    inputs.add_argument("--role-arn", metavar="ARN",
                        help="the role to assume (stack output serviceAccountRoles[NS/NAME])")
    inputs.add_argument("--audience", metavar="AUD",
                        help=f"the token audience, a client id of the OIDC provider (stack output "
                             f"audience; default {DEFAULT_AUDIENCE})")
    token = verify.add_argument_group("the token (--token-file or --from-cluster)")
    source = token.add_mutually_exclusive_group()
    source.add_argument("--token-file", metavar="FILE",
                        help="a service-account token, e.g. copied from a pod's "
                             "/var/run/secrets/eks.amazonaws.com/serviceaccount/token")
    source.add_argument("--from-cluster", action="store_true",
                        help="request a fresh token for the service account and audience from the "
                             "API server (TokenRequest), using --kubeconfig, $KUBECONFIG or the "
                             "stack output kubeconfig (needs --show-secrets)")
    token.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig for --from-cluster")
    aws = verify.add_argument_group("AWS and HTTPS")
    aws.add_argument("--region", help="AWS region for STS and S3 (default: your AWS configuration, "
                                      "else us-east-1)")
    aws.add_argument("--endpoint-url", metavar="URL",
                     help="send every AWS API call here instead of AWS (for a local test server)")
    aws.add_argument("--ca-bundle", metavar="FILE",
                     help="CA certificates (PEM) to trust for the issuer's HTTPS, instead of the "
                          "system's (for a test CA)")
    aws.add_argument("--issuer-host", choices=("github", "s3", "cloudfront"),
                     help="who serves the issuer documents (default: told by the issuer URL's host); "
                          "s3 adds the checks that nothing but the documents is public")
    aws.add_argument("--s3-bucket-prefix", metavar="PREFIX",
                     help="also check that the role can create (and then deletes) a bucket named "
                          "PREFIX-… and gets AccessDenied for a bucket without the prefix")
    verify.add_argument("--json", action="store_true", help="print the results as JSON")
    verify.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    """Run ``verify`` for parsed arguments; print the report; return the exit status."""
    try:
        inputs = inputs_from(args, os.environ, sys.stdin)
    except UsageError as err:
        print(f"irsa verify: {err}", file=sys.stderr)
        return EXIT_USAGE
    checks = [c for c in CHECKS if c.name in ISSUER_CHECKS] if inputs.issuer_only else CHECKS
    results = run(Chain.start(inputs), checks)
    sys.stdout.write(render_json(inputs, results) if args.json else render_text(inputs, results))
    return exit_status(results)


def inputs_from(args: argparse.Namespace, environ: Mapping[str, str], stdin: TextIO) -> Inputs:
    """The ``Inputs`` for these flags, stack outputs and environment; ``UsageError`` if incomplete."""
    outputs = load_stack_outputs(args.stack_outputs, stdin) if args.stack_outputs else {}
    pod = _read_pod(args, environ, outputs) if getattr(args, "pod", None) else None
    if pod is not None:
        from_pod = f"{pod.namespace}/{pod.service_account}"
        if args.service_account and args.service_account != from_pod:
            raise UsageError(f"--service-account {args.service_account} is not the pod's, {from_pod}")
        args.service_account = from_pod
        if not args.token_file:
            args.from_cluster = True
    if not (args.service_account or args.token_file or args.from_cluster or args.role_arn
            or args.s3_bucket_prefix):
        issuer_url = args.issuer_url or outputs.get("issuerUrl")
        if issuer_url:  # the issuer alone: its documents and their host, no token, no AWS
            return Inputs(issuer_url=issuer_url, namespace="", name="", role_arn="",
                          get_token=_no_token, token_source="", ca_bundle=args.ca_bundle,
                          issuer_host=args.issuer_host)
    if not args.service_account:
        raise UsageError("give --service-account NAMESPACE/NAME or --pod NAMESPACE/NAME "
                         "(or --issuer-url alone to check only the issuer)")
    if not args.token_file and not args.from_cluster:
        raise UsageError("one of the arguments --token-file --from-cluster is required (or --pod)")
    namespace, _, name = args.service_account.partition("/")
    if not namespace or not name or "/" in name:
        raise UsageError(f"--service-account must be NAMESPACE/NAME, got {args.service_account!r}")
    issuer_url = args.issuer_url or outputs.get("issuerUrl")
    if not issuer_url:
        if args.stack_outputs:
            source = "standard input" if args.stack_outputs == "-" else args.stack_outputs
            raise UsageError(
                f"--stack-outputs {source} has no issuerUrl (it has: "
                f"{', '.join(sorted(outputs)) or 'nothing'}): give the irsa stack's "
                "`pulumi stack output --json`, or --issuer-url")
        raise UsageError("give --issuer-url, or --stack-outputs with the irsa stack's outputs")
    roles = outputs.get("serviceAccountRoles") or {}
    role_arn = args.role_arn or roles.get(args.service_account) or (pod.role_annotation if pod else None)
    if not role_arn and pod is None:  # with --pod, the pod-mutated check names the missing annotation
        known = ", ".join(sorted(roles)) or "none"
        raise UsageError(f"no role for {args.service_account}: give --role-arn, or --stack-outputs "
                         f"whose serviceAccountRoles has it (it has: {known})")
    audience = args.audience or outputs.get("audience") or DEFAULT_AUDIENCE
    if args.token_file:
        if not Path(args.token_file).is_file():
            raise UsageError(f"--token-file {args.token_file}: no such file")
        get_token: Callable[[], str] = lambda: tokens.read_file(args.token_file)
        source = f"from {args.token_file}"
    else:
        kubeconfig = _kubeconfig(args.kubeconfig, environ, outputs)
        get_token = lambda: tokens.request_from_cluster(kubeconfig, namespace, name, audience)
        source = f"from a TokenRequest for audience {audience}"
    return Inputs(
        issuer_url=issuer_url, namespace=namespace, name=name, role_arn=role_arn or "",
        get_token=get_token, token_source=source, audience=audience,
        endpoint_url=args.endpoint_url, region=args.region, ca_bundle=args.ca_bundle,
        s3_bucket_prefix=args.s3_bucket_prefix, pod=pod, issuer_host=args.issuer_host,
    )


def _no_token() -> str:
    raise AssertionError("an issuer-only verify reads no token")


def _read_pod(args: argparse.Namespace, environ: Mapping[str, str],
              outputs: Mapping[str, Any]) -> pods.PodView:
    namespace, _, name = args.pod.partition("/")
    if not namespace or not name or "/" in name:
        raise UsageError(f"--pod must be NAMESPACE/NAME, got {args.pod!r}")
    try:
        return pods.read(_kubeconfig(args.kubeconfig, environ, outputs), namespace, name)
    except pods.PodError as err:
        raise UsageError(str(err)) from None


def load_stack_outputs(source: str, stdin: TextIO) -> dict[str, Any]:
    """The JSON object ``pulumi stack output --json`` printed, from a file or ``-`` (stdin)."""
    try:
        text = stdin.read() if source == "-" else Path(source).read_text()
    except OSError as err:
        raise UsageError(f"--stack-outputs {source}: {err.strerror or err}") from None
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as err:
        raise UsageError(f"--stack-outputs {source}: not JSON ({err}); "
                         "use `pulumi stack output --json`") from None
    if not isinstance(outputs, dict):
        raise UsageError(f"--stack-outputs {source}: expected a JSON object of outputs")
    return outputs


def _kubeconfig(flag: str | None, environ: Mapping[str, str],
                outputs: Mapping[str, Any]) -> str | dict[str, Any]:
    """A kubeconfig path, or the stack's kubeconfig parsed."""
    if flag or environ.get("KUBECONFIG"):
        # kubectl allows a list in KUBECONFIG; the first file is the one used here.
        return flag or environ["KUBECONFIG"].split(os.pathsep)[0]
    stacked = outputs.get("kubeconfig")
    if stacked == HIDDEN_SECRET:
        raise UsageError("the stack output kubeconfig is hidden: run `pulumi stack output --json "
                         "--show-secrets`, or give --kubeconfig")
    if not stacked:
        raise UsageError("--from-cluster needs a kubeconfig: --kubeconfig, $KUBECONFIG or the "
                         "stack output kubeconfig")
    import yaml  # comes with the Kubernetes client, which --from-cluster needs anyway

    try:
        parsed = yaml.safe_load(stacked) if isinstance(stacked, str) else stacked
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise UsageError("the stack output kubeconfig is not a kubeconfig document")
    return parsed


def render_text(inputs: Inputs, results: Sequence[Result]) -> str:
    """The report for a terminal: one line per check, cause and fix under a failure."""
    lines = ([f"verify the issuer {inputs.issuer_url} (no service account: token, IAM and STS "
              "are not checked)"] if inputs.issuer_only else
             [f"verify {inputs.service_account} → {inputs.role_arn}",
              f"issuer {inputs.issuer_url}, audience {inputs.audience}"])
    width = max(len(r.name) for r in results)
    for result in results:
        lines.append(f"{result.status:<4} {result.name:<{width}}  {result.message}")
        if result.failed or result.status == WARN:
            indent = " " * (width + 7)
            lines.append(f"{indent}cause: {result.cause}")
            lines.append(f"{indent}fix:   {result.fix}")
            if result.sts:
                lines.append(f"{indent}STS answers: {result.sts}")
    lines.append(summary(results))
    return "\n".join(lines) + "\n"


def summary(results: Sequence[Result]) -> str:
    """The last line: every check counted once, each count saying what it means."""
    failed = [r.name for r in results if r.failed]
    passed = sum(r.status in (OK, WARN) for r in results)
    warned = sum(r.status == WARN for r in results)
    not_asked = [r.name for r in results if r.status == SKIP and not r.message.startswith(SKIPPED)]
    not_run = sum(r.status == SKIP and r.message.startswith(SKIPPED) for r in results)
    asked = f"; not asked: {', '.join(not_asked)}" if not_asked else ""
    warnings = f" ({warned} with warnings)" if warned else ""
    if not failed:
        if not not_run and not not_asked:
            return f"all {passed} checks passed{warnings}"
        return f"{passed} of {len(results)} checks passed{warnings}, none failed{asked}"
    parts = [f"{passed} passed", f"{len(failed)} failed"]
    if not_run:
        parts.append(f"{not_run} not run (a check they need failed)")
    return f"FAILED: {', '.join(failed)} — {', '.join(parts)}{warnings}{asked}"


def render_json(inputs: Inputs, results: Sequence[Result]) -> str:
    """The report for programs: the inputs (never the token) and every check."""
    document = {
        "ok": not any(r.failed for r in results),
        "serviceAccount": None if inputs.issuer_only else inputs.service_account,
        "roleArn": inputs.role_arn or None,
        "issuerUrl": inputs.issuer_url,
        "audience": inputs.audience,
        "failed": [r.name for r in results if r.status == FAIL],
        "warnings": [r.name for r in results if r.status == WARN],
        "checks": [{"name": r.name, "status": r.status, "message": r.message, "cause": r.cause,
                    "fix": r.fix, "sts": r.sts} for r in results],
    }
    return json.dumps(document, indent=2) + "\n"
