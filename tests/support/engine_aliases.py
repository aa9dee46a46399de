"""Which resources of an existing stack a program run finds again, as the engine decides it.

The engine looks up each registered resource in the stack's state by its URN
first, then by its aliases (pulumi/pulumi ``pkg/resource/deploy/step_generator.go``:
``generateAliases``, ``collapseAliasToUrn``, ``inheritedChildAlias``):

- an alias spec's unset fields are the resource's own (name, type, parent); a
  given parent that was itself found by an alias stands for its old URN;
- a child of a resource found by an alias also has that old parent, with the
  parent's name swapped in where the child's name starts with the parent's
  (``NAME-…`` children follow a renamed component), and likewise for each of
  the child's own aliases;
- an old URN claimed twice (by two aliases, or by an alias and a resource of
  that URN) is an error.

URNs are made as the test mocks make them (``MockMonitor.make_urn``: the
parent's last type segment, the root stack included), so they compare with the
URNs recorded under the same mocks (``tests/fixtures/urns/``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


def make_urn(parent: str, type_: str, name: str, stack: str, project: str) -> str:
    """A URN as ``pulumi.runtime.mocks.MockMonitor.make_urn`` makes it."""
    if parent:
        type_ = parent.split("::")[2].split("$")[-1] + "$" + type_
    return "urn:pulumi:" + "::".join([stack, project, type_, name])


def _parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, type, name) of a URN; the type without its parents."""
    _, rest = urn.split("urn:pulumi:", 1)
    stack, project, qualified, name = rest.split("::", 3)
    return stack, project, qualified.split("$")[-1], name


@dataclass
class Adoption:
    """What one run does to the resources a stack holds."""

    same: set[str] = field(default_factory=set)  # found by their own URN
    adopted: dict[str, str] = field(default_factory=dict)  # new URN → the old URN its alias found
    created: set[str] = field(default_factory=set)  # found in the state by neither
    errors: list[str] = field(default_factory=list)

    def kept(self) -> set[str]:
        """The old URNs this run finds again."""
        return self.same | set(self.adopted.values())


def adopt(registrations: Iterable[Any], olds: set[str]) -> Adoption:
    """Resolve each registration (in registration order) against the old URNs ``olds``."""
    result = Adoption()
    found_by_alias: dict[str, str] = {}  # new URN → old URN (the engine's sg.aliases)
    claimed: dict[str, str] = {}  # old URN → the new URN that took it
    for reg in registrations:
        stack, project, _, _ = _parts(reg.urn)

        def collapse(alias: dict[str, Any]) -> str:
            if "urn" in alias:
                return alias["urn"]
            parent = alias.get("parentUrn") or reg.parent
            if alias.get("parentUrn"):
                parent = found_by_alias.get(parent, parent)
            if alias.get("noParent"):
                parent = ""
            return make_urn(parent, alias.get("type") or reg.type, alias.get("name") or reg.name,
                            alias.get("stack") or stack, alias.get("project") or project)

        def inherited(child_type: str, child_name: str, parent_alias: str) -> str:
            parent_name = _parts(reg.parent)[3]
            name = child_name
            if child_name.startswith(parent_name):
                name = _parts(parent_alias)[3] + child_name.removeprefix(parent_name)
            return make_urn(parent_alias, child_type, name, stack, project)

        aliases = [collapse(a) for a in reg.aliases]
        if reg.parent in found_by_alias:
            parent_alias = found_by_alias[reg.parent]
            aliases.append(inherited(reg.type, reg.name, parent_alias))
            for alias in list(aliases[:len(reg.aliases)]):
                _, _, alias_type, alias_name = _parts(alias)
                aliases.append(inherited(alias_type, alias_name, parent_alias))

        for candidate in [reg.urn, *dict.fromkeys(aliases)]:
            if candidate not in olds:
                continue
            if candidate in claimed:
                result.errors.append(f"{reg.urn} claims {candidate}, which {claimed[candidate]} took already")
            claimed[candidate] = reg.urn
            if candidate == reg.urn:
                result.same.add(reg.urn)
            else:
                result.adopted[reg.urn] = candidate
                found_by_alias[reg.urn] = candidate
            break
        else:
            result.created.add(reg.urn)
    return result
