"""The ``irsa`` command: the issuer documents, the trust chain and the stack configuration.

``jwks FILE...`` replaces the seed procedure's Java pem-to-jwks step;
``discovery ISSUER_URL`` prints the discovery document to publish beside it;
``verify`` checks the whole trust chain the way STS does (``irsa.verify``);
``check-config`` checks a stack file offline, as ``pulumi preview`` would.
Installed as the console script ``irsa`` (pyproject.toml); ``python -m irsa`` is the same.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from irsa import check_config, oidc, settings
from irsa.verify import command as verify_command

EXIT_USAGE = 2
PROG = "irsa"
# The program refuses smaller signing keys (irsa:keyBits); so does `irsa jwks`.
MIN_KEY_BITS = min(settings.KEY_BITS)

DESCRIPTION = """\
IAM Roles for Service Accounts (IRSA) for a self-managed Kubernetes cluster:
the helpers beside the Pulumi program. `irsa COMMAND --help` describes each command.
"""


def _read(name: str) -> bytes:
    """A file's bytes, or standard input's for ``-``."""
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


def _jwks(args: argparse.Namespace) -> int:
    keys: list[rsa.RSAPublicKey] = []
    for name in args.files:
        label = "stdin" if name == "-" else name
        try:
            found = oidc.load_public_keys(_read(name))
        except FileNotFoundError:
            return _fail(f"{label}: no such file")
        except IsADirectoryError:
            return _fail(f"{label}: is a directory, not a PEM file")
        except PermissionError:
            return _fail(f"{label}: permission denied")
        except oidc.UnusableKeyError as err:
            return _fail(f"{label}: {err}")
        for number, key in enumerate(found, 1):
            which = f"{label}: key {number} of {len(found)}" if len(found) > 1 else label
            if key.key_size < MIN_KEY_BITS:
                return _fail(f"{which}: an RSA key of {key.key_size} bits; the program signs with "
                             f"{MIN_KEY_BITS} bits or more (irsa:keyBits), so publish such a key")
        keys += found
    sys.stdout.write(oidc.to_json(oidc.jwks(keys)))
    return 0


def _discovery(args: argparse.Namespace) -> int:
    url: str = args.issuer_url
    if url.rstrip("/").endswith(oidc.DISCOVERY_PATH.rstrip("/")):
        issuer = url.rstrip("/").removesuffix(oidc.DISCOVERY_PATH.rstrip("/"))
        return _fail(f"{url!r} is the discovery document's own URL; give the issuer URL, "
                     f"without {oidc.DISCOVERY_PATH}: {issuer}")
    try:
        document = oidc.discovery_document(url)
    except oidc.IssuerUrlError as err:
        return _fail(str(err))
    host = urlsplit(url).netloc
    if host != host.lower():
        # Accepted: STS needs only the same string everywhere. But tools and people
        # write host names in lower case, and one differing byte breaks the chain.
        print(f"irsa: warning: the host {host!r} has upper-case letters; the issuer URL must be "
              f"byte for byte the same in --service-account-issuer, the IAM OIDC provider and "
              f"every token: prefer {host.lower()!r}", file=sys.stderr)
    sys.stdout.write(oidc.to_json(document))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir)
    if not (project_dir / check_config.PROJECT_FILE).is_file():
        return _fail(f"{project_dir / check_config.PROJECT_FILE}: no such file "
                     "(run in the project directory, or give --project-dir)")
    if args.stack:
        paths = [check_config.stack_file(project_dir, s) for s in args.stack]
    else:
        paths = check_config.stack_files(project_dir)
        if not paths:
            return _fail(f"no Pulumi.<stack>.yaml in {project_dir}: give --stack NAME")
    failed = False
    for path in paths:
        try:
            report = check_config.check(project_dir, path)
        except check_config.CheckConfigError as err:
            return _fail(str(err))
        for warning in report.warnings:
            print(f"{path.name}: warning: {warning}")
        for problem in report.problems:
            print(f"{path.name}: {problem}")
        if report.problems:
            failed = True
        else:
            print(f"{path.name}: ok")
    return 1 if failed else 0


def _fail(message: str) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return EXIT_USAGE


def version() -> str:
    """The installed package's version; from a checkout run without installing, pyproject's."""
    from importlib import metadata

    try:
        return metadata.version("irsa")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def parser() -> argparse.ArgumentParser:
    """The command line, one sub-command per task."""
    top = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    jwks = commands.add_parser(
        "jwks",
        help="print the JWKS for PEM keys",
        description="Print the JWKS (JSON Web Key Set) that publishes these RSA keys, each with "
        "the key id kube-apiserver puts in tokens. Accepts SPKI or PKCS#1 public keys and "
        f"unencrypted private keys (only the public part is printed), of {MIN_KEY_BITS} bits "
        "or more. - reads standard input.",
    )
    jwks.add_argument("files", nargs="+", metavar="FILE",
                      help="PEM file with one or more RSA keys (every key is read), or -")
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

    check = commands.add_parser(
        "check-config",
        help="check Pulumi.<stack>.yaml offline, as `pulumi preview` would",
        description="Check stack files against Pulumi.yaml with the Pulumi CLI's rules (required "
        "keys, types, secrets) and then the program's own settings rules, offline: one line per "
        "problem, then `ok` for a clean file. Encrypted (secure:) values count as set as secrets; "
        "their content cannot be checked offline. Exit status: 0 when every file is clean, 1 "
        "when one has a problem, 2 for bad usage.",
    )
    check.add_argument("--stack", action="append", metavar="NAME",
                       help="check Pulumi.NAME.yaml (repeatable; default: every stack file)")
    check.add_argument("--project-dir", default=".", metavar="DIR",
                       help="the directory holding Pulumi.yaml (default: the current one)")
    check.set_defaults(run=_check_config)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    return run(args)
