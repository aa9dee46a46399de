"""``python -m irsa``: the issuer documents from the command line.

``jwks FILE...`` replaces the seed procedure's Java pem-to-jwks step;
``discovery ISSUER_URL`` prints the discovery document to publish beside it;
``verify`` checks the whole trust chain the way STS does (``irsa.verify``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from irsa import oidc
from irsa.verify import command as verify_command

EXIT_USAGE = 2


def _jwks(args: argparse.Namespace) -> int:
    keys = []
    for name in args.files:
        try:
            keys.append(oidc.load_public_key(Path(name).read_bytes()))
        except FileNotFoundError:
            return _fail(f"{name}: no such file")
        except IsADirectoryError:
            return _fail(f"{name}: is a directory, not a PEM file")
        except PermissionError:
            return _fail(f"{name}: permission denied")
        except oidc.UnusableKeyError as err:
            return _fail(f"{name}: {err}")
    sys.stdout.write(oidc.to_json(oidc.jwks(keys)))
    return 0


def _discovery(args: argparse.Namespace) -> int:
    try:
        document = oidc.discovery_document(args.issuer_url)
    except oidc.IssuerUrlError as err:
        return _fail(str(err))
    sys.stdout.write(oidc.to_json(document))
    return 0


def _fail(message: str) -> int:
    print(f"irsa: {message}", file=sys.stderr)
    return EXIT_USAGE


def parser() -> argparse.ArgumentParser:
    """The command line, one sub-command per task."""
    top = argparse.ArgumentParser(prog="python -m irsa", description=__doc__.splitlines()[0])
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    jwks = commands.add_parser(
        "jwks",
        help="print the JWKS for PEM keys",
        description="Print the JWKS (JSON Web Key Set) that publishes these RSA keys, each with "
        "the key id kube-apiserver puts in tokens. Accepts SPKI or PKCS#1 public keys and "
        "unencrypted private keys (only the public part is printed).",
    )
    jwks.add_argument("files", nargs="+", metavar="FILE", help="PEM file with an RSA key")
    jwks.set_defaults(run=_jwks)

    discovery = commands.add_parser(
        "discovery",
        help="print the OIDC discovery document for an issuer URL",
        description="Print .well-known/openid-configuration for ISSUER_URL, with exactly the "
        "fields kube-apiserver serves.",
    )
    discovery.add_argument("issuer_url", metavar="ISSUER_URL",
                           help="https URL without query, fragment, port or trailing slash")
    discovery.set_defaults(run=_discovery)

    verify_command.add_parser(commands)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)
