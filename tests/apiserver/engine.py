"""The component's host commands run as the Pulumi engine runs them, on fake nodes.

The order and modes come from the program itself (``irsa/apiserver/rollout.py``,
which ``irsa/components/cluster.py`` builds its commands from); like
pulumi-command, a command runs only when its inputs (mode and script on stdin)
changed, and a delete runs the stored mode with the stored script. The retire
commands get ``retire_from`` exactly as the component computes it, from the
sign steps' output and a clock the test moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from apiserver.harness import host_config

from irsa import apiserver
from irsa.apiserver import rollout

STACK = "org/irsa/prod"


@dataclass
class Engine:
    """Runs `pulumi up` / `pulumi destroy` for a list of nodes (``test_rollout.Node``)."""

    nodes: list
    retire_after: int = 86400
    clock: Callable[[], float] = time.time
    # Called after every command with a description of the step.
    after_each: Callable[[str], None] = lambda step: None
    stored: dict = field(default_factory=dict)  # (node, phase) -> (mode, script, config)
    stdout: dict = field(default_factory=dict)  # (node, phase) -> its last run's output
    ran: list = field(default_factory=list)  # (node, phase, mode) of every command run

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]

    def restarts(self) -> int:
        """API-server restarts on all nodes so far."""
        return sum(n.machine.host.restarts() for n in self.nodes)

    def _run(self, name: str, phase: str, mode: str, config) -> None:
        node = next(n for n in self.nodes if n.name == name)
        result = node.machine.run(mode, config)
        assert result.returncode == 0, f"{mode} on {name}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        self.stdout[(name, phase)] = result.stdout
        self.ran.append((name, phase, mode))
        self.after_each(f"{phase} ({mode}) on {name}")

    def up(self, keys, **changes) -> int:
        """One `pulumi up`: the commands whose inputs changed, in order. Returns the restarts it cost."""
        before = self.restarts()
        retire_from = None
        for name, phase, mode in rollout.steps(self.names):
            if phase == "retire" and retire_from is None:
                states = [rollout.parse_state(self.stdout.get((n, "sign"), "")) for n in self.names]
                retire_from = rollout.retire_from(states, self.retire_after, self.clock())
            config = host_config(keys, node=name, owner_stack=STACK,
                                 retire_from=retire_from if phase == "retire" else 0, **changes)
            script = apiserver.host_script(getattr(self.nodes[0].machine.host, "distribution", "microk8s"), config)
            if self.stored.get((name, phase), (None, None))[:2] == (mode, script):
                continue
            self._run(name, phase, mode, config)
            self.stored[(name, phase)] = (mode, script, config)
        return self.restarts() - before

    def destroy(self) -> int:
        """`pulumi destroy`: each stored command's delete mode with its stored script."""
        before = self.restarts()
        for name, phase, mode in rollout.destroy_steps(self.names):
            self._run(name, phase, mode, self.stored.pop((name, phase))[2])
        self.stored.clear()
        return self.restarts() - before
