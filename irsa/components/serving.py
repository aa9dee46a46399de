"""The issuer serves the keys before the API server signs with them."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command.local as local

# Relative to the project directory, where the Pulumi CLI runs the program:
# the same text on every machine, so state does not change with the checkout's path.
WAIT_SCRIPT = "irsa/jwks_wait.py"


@dataclass(frozen=True)
class KeysServedArgs:
    """Which issuer, which key ids it must serve, and how long to wait."""

    issuer_url: pulumi.Input[str]
    key_ids: pulumi.Input[list[str]]
    timeout_seconds: int
    # The resources that publish the documents: the wait starts after them.
    depends_on: Sequence[pulumi.Resource] = ()
    # False when an earlier version of the documents may have been public at the
    # issuer URL before this stack first published them (a hand-made setup's JWKS).
    first_publication_fresh: bool = True


def wait_command(issuer_url: str, key_ids: Sequence[str], timeout_seconds: int, fresh: bool = False) -> str:
    """The local command line that waits until ``issuer_url`` serves every key id
    (``fresh``: and not for ``max-age`` after, no earlier version having been public)."""
    words = ["python3", WAIT_SCRIPT, "--timeout", str(timeout_seconds), *(["--fresh"] if fresh else []),
             issuer_url, *key_ids]
    return shlex.join(words)


class KeysServed(pulumi.ComponentResource):
    """Completes once the public issuer URL serves every signing key, as STS fetches it.

    One ``command.local.Command`` runs ``irsa/jwks_wait.py`` on the machine
    running Pulumi. Its command lines hold the key ids, so it runs again exactly
    when the key set changes, and not on an unchanged ``up``. ``create`` (the
    first publication) waits only until the documents are served: no copy of
    documents that were never public can be cached. ``update`` (a changed key
    set: the previous JWKS was public) also waits out its ``max-age``. Make
    the host's signing change depend on ``ready``: the API server never signs
    with a key that STS cannot fetch yet. A timeout of 0 skips the wait.
    """

    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: KeysServedArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("irsa:serving:KeysServed", name, None, opts)
        self.ready = list(args.depends_on)
        if args.timeout_seconds > 0:
            values = pulumi.Output.all(args.issuer_url, args.key_ids)
            self.ready = [
                local.Command(
                    f"{name}-wait",
                    create=values.apply(
                        lambda v: wait_command(v[0], v[1], args.timeout_seconds, args.first_publication_fresh)),
                    update=values.apply(lambda v: wait_command(v[0], v[1], args.timeout_seconds)),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
                )
            ]
        self.register_outputs({})
