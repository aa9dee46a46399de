"""How settings problems are collected and reported.

Every check adds one line to a ``_Problems``; ``parse`` raises them all at once
as one ``SettingsError``, each line naming its key and the form it expects.
"""

from __future__ import annotations


class SettingsError(ValueError):
    """One or more configuration values are invalid; each line names its key."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class _Problems:
    """Collects one message per bad key so the user sees them all at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, message: str) -> None:
        self.messages.append(message)

    def check(self, ok: bool, message: str) -> bool:
        if not ok:
            self.add(message)
        return ok


def _duplicates(items: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated
