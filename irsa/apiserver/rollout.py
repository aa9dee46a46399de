"""Which host mode each node's commands run, in which order, and when a retire may drop anything.

Pure, no Pulumi: ``irsa/components/cluster.py`` builds its commands from
``mode`` and ``undo``, and the host tests run ``steps`` and
``destroy_steps`` to count restarts exactly as the engine orders them.

Per node there is an ``accept``, a ``sign`` and a ``retire`` command. Every
sign-phase command depends on every accept-phase command, every retire on
every sign, and within a phase each node waits for the one before it. The
last node's accept command runs ``sign``: it accepts and signs in one
restart, once every other node accepts the new issuer and key. So a change
costs N−1 accepts, one sign-at-once, then N−1 signs: 2N−1 restarts (one on a
single node), one node at a time. The last node's sign command then finds
nothing to do.

``retire`` drops what stopped signing only once every token signed under it
has expired: the program passes ``retire_from`` (the latest signer change
any node recorded, plus ``irsa:retireAfterSeconds``) while that is in the
future, and 0 at the first ``up`` after it, which changes the retire
command's input and so runs it: N restarts, one node at a time.

Destroy deletes in the reverse order: ``unsign`` on every node but the last
(whose sign command has no delete), then ``revert`` from the last node to
the first: the last node reverts while the others still accept irsa's
issuer, and stops signing with it in the same restart (2N−1 restarts).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PHASES = ("accept", "sign", "retire")
_STATE_LINE = re.compile(r"^irsa: rollout-state (.*)$", re.MULTILINE)


def mode(phase: str, index: int, count: int) -> str:
    """The mode the ``phase`` command of node ``index`` (of ``count``) runs on create and update."""
    if phase == "accept" and index == count - 1:
        return "sign"
    return phase


def undo(phase: str, index: int, count: int) -> str | None:
    """The mode its delete runs (None: nothing)."""
    if phase == "accept":
        return "revert"
    if phase == "sign" and index != count - 1:
        return "unsign"
    return None


def steps(nodes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(node, phase, mode) in the order the engine runs them on create or update."""
    count = len(nodes)
    return [(node, phase, mode(phase, i, count)) for phase in PHASES for i, node in enumerate(nodes)]


def destroy_steps(nodes: Sequence[str]) -> list[tuple[str, str, str]]:
    """(node, phase, mode) the engine runs on destroy: reverse dependency order, deletes only."""
    count = len(nodes)
    found = [(node, phase, undo(phase, i, count)) for phase in PHASES for i, node in enumerate(nodes)]
    return [(node, phase, m) for node, phase, m in reversed(found) if m]


@dataclass(frozen=True)
class NodeState:
    """What one node's last run reported (its ``irsa: rollout-state`` line)."""

    since: int | None
    signer_kid: str
    before_kid: str
    held_issuers: tuple[str, ...]
    held_keys: tuple[str, ...]
    # The issuer the node signs with (irsa's; "" before irsa signed).
    signer_issuer: str = ""

    @property
    def holds(self) -> bool:
        return bool(self.held_issuers or self.held_keys)


def parse_state(output: str) -> NodeState | None:
    """The last rollout-state line of a run's output; None if there is none (an older script)."""
    lines = _STATE_LINE.findall(output or "")
    if not lines:
        return None
    fields = dict(part.partition("=")[::2] for part in lines[-1].split())

    def many(name: str) -> tuple[str, ...]:
        value = fields.get(name, "-")
        return () if value in ("", "-") else tuple(value.split(","))

    since = fields.get("since", "")
    return NodeState(int(since) if since.isdigit() else None, fields.get("signer", ""),
                     fields.get("before", ""), many("held-issuers"), many("held-keys"),
                     fields.get("issuer", ""))


def retire_time(states: Iterable[NodeState | None], retire_after: int) -> int:
    """From when every node may drop what it holds (0: nothing held anywhere)."""
    known = [s for s in states if s]
    if not any(s.holds for s in known):
        return 0
    return max((s.since or 0 for s in known), default=0) + retire_after


def retire_from(states: Iterable[NodeState | None], retire_after: int, now: float) -> int:
    """The retire commands' ``retire_from``: the retire time while it is ahead, then 0."""
    when = retire_time(states, retire_after)
    return when if when > now else 0


def when(epoch: int) -> str:
    """An epoch second as UTC, for messages."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def preview_notes(states: dict[str, NodeState | None], key_ids: Sequence[str], retire_after: int,
                  now: float, issuer_url: str = "",
                  previous_issuer_urls: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """(info, warnings) for ``pulumi preview``: what is still accepted and until when, keys
    dropped too soon, and an issuer change that AWS would stop trusting at once."""
    infos: list[str] = []
    warnings: list[str] = []
    due = retire_time(states.values(), retire_after)
    for node, state in states.items():
        if state and state.holds:
            held = [*(f"issuer {u}" for u in state.held_issuers), *(f"key {k}" for k in state.held_keys)]
            infos.append(
                f"node {node} still accepts {', '.join(held)} (stopped signing "
                f"{when(state.since) if state.since else 'earlier'}); "
                + (f"retired by the first pulumi up after {when(due)} (irsa:retireAfterSeconds)"
                   if due > now else "retired by this pulumi up"))
    dropped: dict[str, int] = {}
    for state in states.values():
        if not state:
            continue
        if state.signer_kid and state.signer_kid not in key_ids:
            dropped[state.signer_kid] = max(dropped.get(state.signer_kid, 0), int(now) + retire_after)
        if state.before_kid and state.before_kid not in key_ids and state.since:
            safe = state.since + retire_after
            if safe > now:
                dropped[state.before_kid] = max(dropped.get(state.before_kid, 0), safe)
    signing = sorted({s.signer_issuer for s in states.values() if s and s.signer_issuer})
    for old in signing:
        if issuer_url and old != issuer_url and old not in previous_issuer_urls:
            warnings.append(
                f"the issuer changes from {old} to {issuer_url}: the API servers keep accepting the old "
                f"one until {when(int(now) + retire_after)}, but AWS stops trusting it now, so pods' "
                "tokens signed under it are refused by STS until the kubelet refreshes them. Name it in "
                "irsa:previousIssuerHosts (docs/issuer-hosting.md) to keep it published and trusted")
    for kid, safe in sorted(dropped.items()):
        warnings.append(
            f"irsa:signingKeys no longer lists key {kid}, but tokens it signed stay valid until "
            f"{when(safe)}: STS refuses them once the JWKS drops it. Keep its name in irsa:signingKeys "
            "(after the signing key) until then")
    return infos, warnings
