"""The AWS clients ``verify`` uses, and AWS errors turned into plain words.

boto3 is imported lazily so ``irsa jwks`` works without it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from irsa.verify.broken import Broken

SESSION_NAME = "irsa-verify"


class Aws:
    """Clients for one endpoint and region; credentials from boto3's usual chain unless given."""

    def __init__(self, endpoint_url: str | None = None, region: str | None = None):
        self.endpoint_url = endpoint_url
        self._region = region
        self._session: Any = None

    @property
    def session(self) -> Any:
        # One session: creating one loads botocore's data files, which is slow.
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session

    @property
    def region(self) -> str:
        return self._region or self.session.region_name or "us-east-1"

    def client(self, service: str, credentials: Mapping[str, Any] | None = None,
               unsigned: bool = False, **config: Any) -> Any:
        from botocore import UNSIGNED
        from botocore.config import Config

        options: dict[str, Any] = {"connect_timeout": 5, "read_timeout": 20,
                                   "retries": {"max_attempts": 2}} | config
        if unsigned:
            options["signature_version"] = UNSIGNED
        keys = {}
        if credentials:
            keys = {"aws_access_key_id": credentials["AccessKeyId"],
                    "aws_secret_access_key": credentials["SecretAccessKey"],
                    "aws_session_token": credentials["SessionToken"]}
        return self.session.client(
            service, region_name=self.region, endpoint_url=self.endpoint_url,
            config=Config(**options), **keys,
        )


def error_code(err: Exception) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def error_message(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(err)


@contextmanager
def calling(action: str, permission: str) -> Iterator[None]:
    """Turn failures of ``action`` that are not about IRSA into ``Broken``.

    ``ClientError``s pass through so the check can read their code, except an
    access denial, which is about the caller's own permissions.
    """
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise Broken(f"{action}: no AWS credentials",
                         "verify reads IAM with your own AWS credentials and found none",
                         "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY") from None
    except ClientError as err:
        code = error_code(err)
        if code in {"AccessDenied", "AccessDeniedException", "InvalidClientTokenId",
                    "SignatureDoesNotMatch", "ExpiredToken"}:
            raise Broken(f"{action}: {code}: {error_message(err)}",
                             "your AWS credentials may not make this call",
                             f"use credentials allowed {permission}") from None
        raise
    except BotoCoreError as err:
        raise Broken(f"{action}: {err}", "the AWS endpoint did not answer",
                         "check the network, --endpoint-url and --region") from None
