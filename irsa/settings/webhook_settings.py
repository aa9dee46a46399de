"""The pod identity webhook's keys: whether it runs, which image, and what a failed call does.

(Not named webhook.py: ``irsa.settings`` imports ``irsa.webhook`` as ``webhook``, and a
submodule of that name would take its place.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from irsa import webhook
from irsa.settings.problems import _Problems


@dataclass(frozen=True)
class WebhookSettings:
    """The pod identity webhook: whether it runs, which build, and what a failed call does."""

    enabled: bool = True
    image: str = webhook.DEFAULT_IMAGE
    failure_policy: str = webhook.DEFAULT_FAILURE_POLICY
    sts_regional_endpoint: bool = True

    def mutates(self, namespace: str) -> bool:
        """Whether pods in this namespace get their credentials from the webhook."""
        return self.enabled and webhook.mutates_namespace(namespace)


def _webhook_settings(v: dict[str, Any], p: _Problems) -> WebhookSettings:
    image = v["webhookImage"]
    if image is not None:
        problem = webhook.image_problem(image)
        p.check(problem is None, f"irsa:webhookImage {problem}, got {image!r}")
    policy = v["webhookFailurePolicy"]
    if policy is not None:
        p.check(policy in webhook.FAILURE_POLICIES,
                f"irsa:webhookFailurePolicy must be Ignore (pods start unmutated while the webhook "
                f"is down) or Fail (pod creation fails meanwhile), got {policy!r}")
    return WebhookSettings(
        enabled=bool(v["podIdentityWebhook"]),
        image=image or webhook.DEFAULT_IMAGE,
        failure_policy=policy or webhook.DEFAULT_FAILURE_POLICY,
        sts_regional_endpoint=bool(v["webhookStsRegionalEndpoint"]),
    )
