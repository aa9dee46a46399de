"""HTTPS GETs the way STS makes them for an issuer: short timeout, a few retries.

STS gives an identity provider about five seconds. Server errors and network
failures are retried with backoff; a 4xx answer or an untrusted certificate is
final, since asking again gets the same answer.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

TIMEOUT_SECONDS = 5.0
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
# Issuer documents are a few kilobytes; a bigger answer is not one of them.
MAX_BYTES = 1 << 20


class FetchError(Exception):
    """A GET that did not give a usable answer.

    ``kind`` is one of ``http`` (then ``status`` is the HTTP status), ``tls``,
    ``network`` (unreachable, timeout) or ``content`` (not a JSON object).
    """

    def __init__(self, message: str, kind: str, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.status = status


@dataclass(frozen=True)
class Response:
    """A successful GET: the body, the headers (names in lower case), and how long it took."""

    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def get(url: str, **options) -> bytes:
    """The body of ``url`` (https only), verified against ``ca_bundle`` or the system CAs."""
    return get_response(url, **options).body


def get_response(
    url: str,
    *,
    ca_bundle: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Response:
    """``get``, keeping the headers and the time the successful attempt took."""
    if urlsplit(url).scheme != "https":
        raise FetchError(f"{url} is not an https URL", "tls")
    context = ssl.create_default_context(cafile=ca_bundle)
    request = urllib.request.Request(url, headers={"User-Agent": "irsa-verify"})
    for attempt in range(1, attempts + 1):
        try:
            started = clock()
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                body = response.read(MAX_BYTES + 1)
                headers = {k.lower(): v for k, v in response.headers.items()}
            seconds = clock() - started
        except urllib.error.HTTPError as err:
            failure = FetchError(f"GET {url} answered HTTP {err.code} {err.reason}", "http", err.code)
            if err.code < 500:
                raise failure from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, ssl.SSLError):
                raise FetchError(f"TLS with {urlsplit(url).netloc} failed: {_tls_reason(err.reason)}",
                                 "tls") from None
            failure = FetchError(f"GET {url} failed: {err.reason}", "network")
        except (TimeoutError, socket.timeout):
            failure = FetchError(f"GET {url} took longer than {timeout:g} s", "network")
        except ConnectionError as err:
            failure = FetchError(f"GET {url} failed: {err}", "network")
        else:
            if len(body) > MAX_BYTES:
                raise FetchError(f"GET {url} returned more than {MAX_BYTES} bytes", "content")
            return Response(body, headers, seconds)
        if attempt < attempts:
            sleep(backoff * 2 ** (attempt - 1))
    failure.args = (f"{failure.args[0]} (tried {attempts} times)",)
    raise failure


def get_json_object(url: str, **options) -> dict:
    """The JSON object at ``url``; ``FetchError`` if it is not one."""
    return get_json_response(url, **options)[0]


def get_json_response(url: str, **options) -> tuple[dict, Response]:
    """The JSON object at ``url`` and the response it came in."""
    response = get_response(url, **options)
    body = response.body
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise FetchError(f"GET {url} returned something that is not JSON ({err})", "content") from None
    if not isinstance(document, dict):
        raise FetchError(f"GET {url} returned JSON, but not an object", "content")
    return document, response


def status_of(url: str, *, ca_bundle: str | None = None, timeout: float = TIMEOUT_SECONDS,
              **_ignored) -> int | None:
    """The HTTP status an anonymous GET of ``url`` answers (one attempt); None if no answer."""
    context = ssl.create_default_context(cafile=ca_bundle)
    request = urllib.request.Request(url, headers={"User-Agent": "irsa-verify"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            response.read(MAX_BYTES)
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError):
        return None


def _tls_reason(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message or error}"
    return error.reason or str(error)
