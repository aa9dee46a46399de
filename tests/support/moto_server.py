"""moto's AWS in server mode on 127.0.0.1, shared by the test modules of one pytest process.

moto keeps its state per process, so there is one server; each module starts
from ``reset()`` and builds what it needs. ``enforce_iam()`` turns on moto's
permission checks for every signed call (moto's ``reset-auth``).

AssumeRoleWithWebIdentity is never signed (the token is the credential), and
moto cannot check a request without a signature once enforcement is on. AWS
lets such a call through; to do the same at any point of a test, set
``unsigned_calls_free``: each unsigned request is then preceded by a
``reset-auth`` with a count of 1, which lets exactly that request through.
"""

from __future__ import annotations

import functools
import re
import threading
from typing import Any

from support.unavailable import skip_or_fail

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
# moto's default account; any access key that moto does not know maps to it.
ACCOUNT_ID = "123456789012"
SETUP_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# BUCKET.s3.REGION.amazonaws.com: an S3 issuer's host (see irsa.oidc.s3_issuer_url).
S3_VIRTUAL_HOST = re.compile(r"[a-z0-9-]+\.s3\.[a-z0-9-]+\.amazonaws\.com(?::\d+)?")


class MotoServer:
    """A moto server on an ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        try:
            from moto.moto_server.werkzeug_app import (
                DomainDispatcherApplication,
                MotoRequestHandler,
                create_backend_app,
            )
            from werkzeug.serving import make_server
            from werkzeug.test import Client
        except ImportError as err:
            skip_or_fail(f"moto[server] is not installed ({err}); pip install -r requirements-dev.txt")
        self._app = DomainDispatcherApplication(create_backend_app)
        self._control = Client(self._app)
        self.enforcing = False
        self.unsigned_calls_free = False
        try:
            self._httpd = make_server(LOOPBACK, 0, self._serve, threaded=True,
                                      request_handler=MotoRequestHandler)
        except OSError as err:
            skip_or_fail(f"cannot start moto on {LOOPBACK}: {err}")
        self.endpoint_url = f"http://{LOOPBACK}:{self._httpd.server_port}"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Any:
        unsigned = ("HTTP_AUTHORIZATION" not in environ
                    and not environ["PATH_INFO"].startswith("/moto-api"))
        if unsigned and self.enforcing and self.unsigned_calls_free:
            self._reset_auth("1")
        if S3_VIRTUAL_HOST.fullmatch(environ.get("HTTP_HOST", "")):
            # moto sends every unsigned GET of a path ending in
            # /.well-known/openid-configuration to Cognito (its user-pool
            # discovery URL); a virtual-hosted S3 name is S3's, as on AWS.
            return self._backend_app("s3")(environ, start_response)
        return self._app(environ, start_response)

    def _backend_app(self, service: str) -> Any:
        with self._app.lock:
            app = self._app.app_instances.get(service)
            if app is None:
                app = self._app.app_instances[service] = self._app.create_app(service)
        return app

    def s3_virtual_host(self, bucket: str, region: str = REGION) -> str:
        """The Host header of a virtual-hosted S3 request, which this server routes to S3."""
        return f"{bucket}.s3.{region}.amazonaws.com"

    def _reset_auth(self, count: str) -> None:
        # Through moto's own HTTP endpoint: the body is the number of calls left unchecked.
        answer = self._control.post("/moto-api/reset-auth", data=count,
                                    headers={"Content-Type": "text/plain", "Host": f"{LOOPBACK}"})
        assert answer.status_code == 200, answer.get_data(as_text=True)

    def reset(self) -> None:
        """Forget every resource and turn permission checks off."""
        answer = self._control.post("/moto-api/reset", headers={"Host": LOOPBACK})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        self._reset_auth("inf")
        self.enforcing = False
        self.unsigned_calls_free = False

    def enforce_iam(self, unchecked_calls: int = 0) -> None:
        """Check the permissions of every call after the next ``unchecked_calls``."""
        self._reset_auth(str(unchecked_calls))
        self.enforcing = True

    def client(self, service: str, credentials: dict[str, str] | None = None, **config: Any) -> Any:
        """A boto3 client for this server (setup credentials unless others are given)."""
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION,
                            config=Config(**config) if config else None,
                            **(credentials or SETUP_CREDENTIALS))


@functools.cache
def shared_server() -> MotoServer:
    """The process's moto server, started on first use (a daemon thread: it ends with pytest)."""
    return MotoServer()
