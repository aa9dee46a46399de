"""Wait until the public issuer serves every signing key, as STS would fetch it.

Run by ``pulumi up`` between publishing the issuer documents and switching the
API server's signing key, as ``python3 irsa/jwks_wait.py ISSUER_URL KID...``.
Standard library only, so any python3 on the machine that runs Pulumi will do.

Why: raw.githubusercontent.com (and any CDN) serves a cached copy of the
JWKS for up to ``max-age`` seconds after it changed. A token signed with a key
that STS's copy lacks fails with "Couldn't retrieve verification key". So:

1. fetch the discovery document and the JWKS exactly as STS does (no
   cache-busting query or ``no-cache`` header, which would show us a fresher
   copy than STS gets) until every key id is listed;
2. then keep waiting until ``max-age`` seconds (from the JWKS reply's
   ``Cache-Control``) have passed since the wait began: a copy cached elsewhere
   before the change has expired by then. With ``--fresh`` (the documents were
   just published for the first time, so no earlier copy can be cached
   anywhere) this step is skipped: the wait ends as soon as they are served.

Exit 0 when both hold, 1 with one line saying what is missing at the timeout,
2 on bad usage. The key ids are public; nothing secret passes through here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

DISCOVERY_PATH = "/.well-known/openid-configuration"
# STS gives up on an identity provider after about 5 seconds.
FETCH_TIMEOUT = 5.0


@dataclass(frozen=True)
class Served:
    """What one look at the issuer found."""

    key_ids: frozenset[str]
    max_age: int
    problem: str = ""


def max_age(cache_control: str | None) -> int:
    """Seconds a shared cache may keep the reply: ``s-maxage`` over ``max-age``, 0 if neither."""
    if not cache_control:
        return 0
    found = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        if name.lower() in ("max-age", "s-maxage") and value.strip().isdigit():
            found[name.lower()] = int(value)
    return found.get("s-maxage", found.get("max-age", 0))


def _get(url: str) -> tuple[bytes, str | None]:
    request = urllib.request.Request(url, headers={"User-Agent": "irsa-jwks-wait"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as reply:  # noqa: S310 (https only, checked)
        return reply.read(), reply.headers.get("Cache-Control")


def look(issuer_url: str, get: Callable[[str], tuple[bytes, str | None]] = _get) -> Served:
    """Fetch discovery → ``jwks_uri`` → JWKS; the key ids it lists and how long it may be cached."""
    try:
        discovery = json.loads(get(issuer_url + DISCOVERY_PATH)[0])
        jwks_uri = discovery["jwks_uri"]
        body, cache_control = get(jwks_uri)
        keys = json.loads(body)["keys"]
        return Served(frozenset(k["kid"] for k in keys if isinstance(k, dict) and "kid" in k),
                      max_age(cache_control))
    except urllib.error.HTTPError as err:
        return Served(frozenset(), 0, f"{err.url} answered HTTP {err.code}")
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        return Served(frozenset(), 0, f"cannot fetch from {issuer_url}: {getattr(err, 'reason', err)}")
    except (ValueError, KeyError, TypeError) as err:
        return Served(frozenset(), 0, f"the issuer's documents are not what STS reads: {err!r}")


def wait(issuer_url: str, key_ids: Sequence[str], timeout: float, interval: float = 10.0,
         get: Callable[[str], tuple[bytes, str | None]] = _get,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
         log: Callable[[str], None] = print, fresh: bool = False) -> str | None:
    """Return ``None`` once the issuer serves every key id and caches have turned over
    (``fresh``: no earlier version was public, so as soon as it is served),
    or the one-line reason it did not within ``timeout`` seconds."""
    start = clock()
    wanted = set(key_ids)
    settle_until: float | None = None
    while True:
        served = look(issuer_url, get)
        missing = sorted(wanted - served.key_ids)
        now = clock()
        if not missing:
            if settle_until is None:
                settle_until = start + (0 if fresh else served.max_age)
                log(f"irsa: the issuer serves key ids {', '.join(sorted(wanted))}"
                    + (f"; waiting until copies cached before (max-age {served.max_age}s) expire"
                       if now < settle_until else ""))
            if now >= settle_until:
                return None
        if now - start >= timeout:
            reason = served.problem or f"its JWKS does not list key id {', '.join(missing)}"
            if not missing:
                reason = f"caches may still hold the previous JWKS (max-age {served.max_age}s)"
            return (f"the issuer {issuer_url} is not ready after {int(timeout)}s: {reason}. "
                    "The API server was not changed, so tokens keep working; check that the "
                    "documents were published where the issuer URL points, then run pulumi up again")
        if missing:
            log(f"irsa: waiting for the issuer to serve key id {', '.join(missing)}"
                + (f" ({served.problem})" if served.problem else ""))
        sleep(interval if settle_until is None else min(interval, settle_until - now))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jwks_wait.py", description=__doc__.splitlines()[0])
    parser.add_argument("issuer_url")
    parser.add_argument("key_ids", nargs="+", metavar="KID")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds (default 900)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between looks (default 10)")
    parser.add_argument("--fresh", action="store_true",
                        help="no earlier version of the documents was public: do not wait out max-age")
    args = parser.parse_args(argv)
    if not args.issuer_url.startswith("https://"):
        parser.error("the issuer URL must start with https://")
    problem = wait(args.issuer_url, args.key_ids, args.timeout, args.interval, fresh=args.fresh)
    if problem:
        print(f"irsa: error: {problem}", file=sys.stderr)
        return 1
    print("irsa: the issuer serves every signing key; the API server may sign with them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
