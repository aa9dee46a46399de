"""A stand-in for raw.githubusercontent.com on 127.0.0.1: fixed replies by path, over HTTPS.

The certificate comes from a throwaway trustme CA; clients trust it through
``ca_bundle``. The same server without TLS plays a host that serves plain HTTP.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from irsa import oidc
from support.unavailable import skip_or_fail

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


Route = Reply | Callable[[Request], Reply]


class DocumentServer:
    """Serves ``routes`` (path → Reply, or a function of the request); counts requests per path."""

    def __init__(self, ca: Any | None = None):
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = urlsplit(self.path).path
                server.hits[path] += 1
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, path, {k.lower(): v for k, v in self.headers.items()},
                                  self.rfile.read(length))
                route = server.routes.get(path, Reply(404, b"404: Not Found", "text/plain"))
                reply = route(request) if callable(route) else route
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:  # keep pytest output clean
                pass

        try:
            self._httpd = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        except OSError as err:
            skip_or_fail(f"cannot listen on {LOOPBACK}: {err}")
        self._httpd.daemon_threads = True
        scheme = "http"
        if ca is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert(LOOPBACK).configure_cert(context)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
            scheme = "https"
        self.origin = f"{scheme}://{LOOPBACK}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def put_json(self, path: str, document: Any, status: int = 200) -> None:
        body = document if isinstance(document, str) else json.dumps(document)
        self.routes[path] = Reply(status, body.encode())

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def make_ca(directory: Path) -> tuple[Any, Path]:
    """A throwaway CA and the PEM bundle clients pass as ``--ca-bundle``."""
    try:
        import trustme
    except ImportError:
        skip_or_fail("trustme is not installed (pip install -r requirements-dev.txt)")
    ca = trustme.CA()
    bundle = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return ca, bundle


def publish_issuer(server: DocumentServer, owner: str, repository: str, branch: str,
                   public_keys: Iterable[rsa.RSAPublicKey]) -> str:
    """Publish the project's documents for OWNER/REPO@BRANCH as GitHub would; return the issuer URL.

    The documents are built by ``irsa.oidc`` for the real GitHub URL, then moved
    to this server's origin: ``discovery_document`` rightly refuses a URL with a
    port, and the test host has one.
    """
    github_url = oidc.github_issuer_url(owner, repository, branch)
    path = urlsplit(github_url).path
    issuer_url = server.origin + path
    discovery = oidc.discovery_document(github_url)
    discovery = {key: value.replace(github_url, issuer_url) if isinstance(value, str) else value
                 for key, value in discovery.items()}
    server.routes[path + oidc.DISCOVERY_PATH] = Reply(200, oidc.to_json(discovery).encode())
    server.routes[path + oidc.JWKS_PATH] = Reply(200, oidc.to_json(oidc.jwks(public_keys)).encode())
    return issuer_url
