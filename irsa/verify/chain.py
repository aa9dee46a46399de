"""What ``verify`` knows while it walks the trust chain, and how it walks it.

Each check is a plain function of a ``Chain``: it reads what earlier checks
found, stores what it finds, and returns a one-line summary or raises
``Broken`` with the cause and the fix. ``run`` applies an order table of
checks and skips those whose prerequisites did not pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from irsa.verify.aws import Aws
from irsa.verify.broken import Broken, Concern
from irsa.verify.fetch import Response
from irsa.verify.pod import PodView
from irsa.verify.token import Token

DEFAULT_AUDIENCE = "sts.amazonaws.com"
# A prerequisite meaning "every check before this one".
ALL_BEFORE = "*"


@dataclass(frozen=True)
class Inputs:
    """What the user asked to verify. ``get_token`` is only called by the token check."""

    issuer_url: str
    namespace: str
    name: str
    role_arn: str
    get_token: Callable[[], str] = field(repr=False)
    token_source: str
    audience: str = DEFAULT_AUDIENCE
    endpoint_url: str | None = None
    region: str | None = None
    ca_bundle: str | None = None
    s3_bucket_prefix: str | None = None
    # --pod: the pod and its ServiceAccount, read before the checks run
    pod: PodView | None = None
    # timeout / attempts / backoff / clock of the HTTPS fetches (tests shorten the backoff)
    fetch_options: dict[str, Any] = field(default_factory=dict)
    # github | s3 | cloudfront; None: told by the issuer URL's host
    issuer_host: str | None = None

    @property
    def service_account(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def issuer_only(self) -> bool:
        """``--issuer-url`` alone: only the issuer's documents and their host are checked."""
        return not self.namespace

    @property
    def role_name(self) -> str:
        # Roles may have paths (role/PATH/NAME); the name is the last segment.
        return self.role_arn.rsplit("/", 1)[-1]


@dataclass
class Chain:
    """The inputs plus everything checks have learned so far."""

    inputs: Inputs
    aws: Aws
    token: Token | None = None
    discovery: dict[str, Any] | None = None
    jwks: dict[str, Any] | None = None
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The answers the issuer host gave, by document ("discovery document", "JWKS").
    fetched: dict[str, Response] = field(default_factory=dict)
    provider_arn: str | None = None
    credentials: dict[str, Any] | None = field(default=None, repr=False)
    assumed_arn: str | None = None

    @classmethod
    def start(cls, inputs: Inputs) -> Chain:
        return cls(inputs=inputs, aws=Aws(inputs.endpoint_url, inputs.region))

    def secrets(self) -> list[str]:
        """Strings that must never be printed: the token and the temporary credentials."""
        found = [self.token.raw] if self.token else []
        if self.credentials:
            found += [str(self.credentials.get(k, "")) for k in
                      ("AccessKeyId", "SecretAccessKey", "SessionToken")]
        return [s for s in found if s]


@dataclass(frozen=True)
class Check:
    """One row of the order table."""

    name: str
    what: str
    run: Callable[[Chain], str]
    needs: tuple[str, ...] = ()
    wanted: Callable[[Inputs], str | None] = lambda inputs: None  # reason to leave it out


@dataclass(frozen=True)
class Result:
    """The outcome of one check: ``ok``, ``FAIL`` or ``skip``."""

    name: str
    status: str
    message: str
    cause: str = ""
    fix: str = ""
    sts: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAIL


OK, FAIL, SKIP, WARN = "ok", "FAIL", "skip", "warn"
SKIPPED = "skipped: needs "  # how a skip for a failed prerequisite begins


def run(chain: Chain, checks: Sequence[Check]) -> list[Result]:
    """Run the checks in order; a check is skipped when one it needs did not pass."""
    results: list[Result] = []
    passed: set[str] = set()
    left_out: set[str] = set()  # not asked for: they do not block the checks after them
    for check in checks:
        reason = check.wanted(chain.inputs)
        if reason:
            left_out.add(check.name)
            results.append(Result(check.name, SKIP, reason))
            continue
        needs = [r.name for r in results] if ALL_BEFORE in check.needs else check.needs
        missing = [n for n in needs if n not in passed and n not in left_out]
        if missing:
            results.append(Result(check.name, SKIP, SKIPPED + ", ".join(missing)))
            continue
        try:
            summary = check.run(chain)
        except Broken as broken:
            results.append(_redacted(chain, Result(check.name, FAIL, broken.message, broken.cause,
                                                   broken.fix, broken.sts)))
            continue
        except Concern as concern:  # holds, so what needs it still runs
            passed.add(check.name)
            results.append(_redacted(chain, Result(check.name, WARN, concern.message, concern.cause,
                                                   concern.fix)))
            continue
        except Exception as err:  # a diagnostic tool reports the rest of the chain anyway
            results.append(_redacted(chain, Result(
                check.name, FAIL, f"unexpected {type(err).__name__}: {err}",
                "an answer this check did not expect", "report it with this output")))
            continue
        passed.add(check.name)
        results.append(_redacted(chain, Result(check.name, OK, summary)))
    return results


def _redacted(chain: Chain, result: Result) -> Result:
    fields = {}
    for key in ("message", "cause", "fix", "sts"):
        text = getattr(result, key)
        for secret in chain.secrets():
            text = text.replace(secret, "[redacted]")
        fields[key] = text
    return Result(result.name, result.status, **fields)


def exit_status(results: Sequence[Result]) -> int:
    """0 when nothing failed, 1 otherwise."""
    return 1 if any(r.failed for r in results) else 0
