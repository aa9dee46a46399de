"""The rollout plan (irsa/apiserver/rollout.py) and the retire decision the component feeds its hosts.

The restarts it costs are counted on fake hosts in tests/apiserver/test_restart_budget.py;
here: the order, the retire time, what preview says, and the setting's bounds.
"""

from __future__ import annotations

import pulumi
import pytest
from conftest import IrsaMocks, secret_value

from irsa.apiserver import rollout
from irsa.components.cluster import ClusterIssuerConfigArgs
from irsa.settings import SettingsError, parse

KID_A, KID_B, KID_C = ("A" * 43, "B" * 43, "C" * 43)
OLD = "https://raw.githubusercontent.com/example-org/oidc-issuer/refs/heads/old"
T0 = 1_800_000_000
DAY = 86400


def line(since, signer, before, issuers="-", keys="-", issuer="") -> str:
    return (f"irsa: progress\nirsa: rollout-state since={since} issuer={issuer} signer={signer} before={before} "
            f"held-issuers={issuers} held-keys={keys}\nirsa: done (sign)\n")


def test_three_nodes_cost_2n_minus_1_in_order_and_destroy_reverts_the_last_signer_first():
    nodes = ["n1", "n2", "n3"]
    assert rollout.steps(nodes)[:6] == [
        ("n1", "accept", "accept"), ("n2", "accept", "accept"), ("n3", "accept", "sign"),
        ("n1", "sign", "sign"), ("n2", "sign", "sign"), ("n3", "sign", "sign")]
    assert rollout.destroy_steps(nodes) == [
        ("n2", "sign", "unsign"), ("n1", "sign", "unsign"),
        ("n3", "accept", "revert"), ("n2", "accept", "revert"), ("n1", "accept", "revert")]
    assert rollout.steps(["only"])[0] == ("only", "accept", "sign")
    assert rollout.destroy_steps(["only"]) == [("only", "accept", "revert")]


def test_the_state_line_is_read_and_an_older_script_reports_nothing():
    state = rollout.parse_state(line(T0, KID_B, KID_A, OLD, KID_A))
    assert state == rollout.NodeState(T0, KID_B, KID_A, (OLD,), (KID_A,))
    assert rollout.parse_state("irsa: done (sign)\n") is None
    assert rollout.parse_state(line("", "", "")) == rollout.NodeState(None, "", "", (), ())


def test_retire_waits_for_the_latest_change_on_any_node_then_becomes_0():
    states = [rollout.parse_state(line(T0, KID_B, KID_A, OLD)), rollout.parse_state(line(T0 + 90, KID_B, KID_A))]
    assert rollout.retire_time(states, DAY) == T0 + 90 + DAY
    assert rollout.retire_from(states, DAY, now=T0 + DAY) == T0 + 90 + DAY
    assert rollout.retire_from(states, DAY, now=T0 + 90 + DAY) == 0
    # Nothing held anywhere (a first setup): nothing to wait for.
    assert rollout.retire_from([rollout.parse_state(line(T0, KID_B, "")), None], DAY, now=T0) == 0


def test_preview_says_what_is_accepted_until_when_and_warns_of_a_key_dropped_too_soon():
    states = {"n1": rollout.parse_state(line(T0, KID_B, KID_A, OLD, KID_A))}
    infos, warnings = rollout.preview_notes(states, [KID_B], DAY, now=T0 + 60)
    assert infos == [f"node n1 still accepts issuer {OLD}, key {KID_A} (stopped signing 2027-01-15 08:00:00Z); "
                     "retired by the first pulumi up after 2027-01-16 08:00:00Z (irsa:retireAfterSeconds)"]
    assert len(warnings) == 1 and KID_A in warnings[0] and "2027-01-16 08:00:00Z" in warnings[0]
    # Kept in irsa:signingKeys: no warning; after the time: none either.
    assert rollout.preview_notes(states, [KID_B, KID_A], DAY, now=T0 + 60)[1] == []
    assert rollout.preview_notes(states, [KID_B], DAY, now=T0 + DAY + 1)[1] == []
    # The key signing now, dropped with a new one put first: safe a full retire period from now.
    _, warnings = rollout.preview_notes(states, [KID_C], DAY, now=T0 + 60)
    assert any(KID_B in w and rollout.when(T0 + 60 + DAY) in w for w in warnings)


@pytest.mark.parametrize(("value", "ok"), [("3606", False), ("3607", True), ("86400", True), ("2592001", False)])
def test_retire_after_is_bounded_by_the_longest_token(value, ok):
    config = {"irsa:githubOwner": "o", "irsa:githubRepository": "r", "irsa:host": "h.example",
              "irsa:tokenExpirationSeconds": "600", "irsa:retireAfterSeconds": value}
    if ok:
        assert parse(config).tokens.retire_after_seconds == int(value)
        return
    with pytest.raises(SettingsError) as err:
        parse(config)
    assert err.value.problems == [f"irsa:retireAfterSeconds must be between 3607 (the longest token the "
                                  f"cluster issues) and 2592000, got {value}"]
    with pytest.raises(SettingsError, match="between 86400"):
        parse({**config, "irsa:tokenExpirationSeconds": "86400", "irsa:retireAfterSeconds": "80000"})


@pytest.mark.parametrize(("now", "expected"), [(T0 + 60, T0 + DAY), (T0 + DAY + 1, 0)])
def test_the_retire_commands_get_the_time_from_the_sign_steps_output(pulumi_mocks, monkeypatch, now, expected):
    from test_cluster import make

    original = IrsaMocks.new_resource

    def with_state(self, args):
        resource_id, state = original(self, args)
        if args.name.endswith(("-sign", "-retire")):
            state["stdout"] = line(T0, KID_B, KID_A, OLD, KID_A)
        return resource_id, state

    monkeypatch.setattr(IrsaMocks, "new_resource", with_state)
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *a, **kw: logged.append(message))
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *a, **kw: logged.append(message))
    monkeypatch.setattr(ClusterIssuerConfigArgs, "__init__", _with_clock(ClusterIssuerConfigArgs.__init__, now))
    pulumi_mocks.run(make)
    retire = secret_value(pulumi_mocks.by_name("cluster-apiserver-retire").inputs["stdin"])
    accept = secret_value(pulumi_mocks.by_name("cluster-apiserver-accept").inputs["stdin"])
    assert f"\nIRSA_RETIRE_FROM={expected}\n" in retire
    assert "\nIRSA_RETIRE_FROM=0\n" in accept
    assert any(f"still accepts issuer {OLD}" in m for m in logged), logged
    # The notes read the retire steps' reports (what a node holds after them).
    assert any("retired by" in m for m in logged)
    # KID_A stopped signing at T0 and is no longer in the stack's keys.
    assert any(KID_A in m and "irsa:signingKeys" in m for m in logged) == (expected != 0)


def _with_clock(init, now):
    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        object.__setattr__(self, "clock", lambda: now)
    return patched


def test_an_issuer_change_without_a_previous_entry_is_warned_and_with_one_it_is_not():
    new = "https://raw.githubusercontent.com/example-org/oidc-next/refs/heads/main"
    states = {"n1": rollout.parse_state(line(T0, KID_B, KID_A, issuer=OLD))}
    assert states["n1"].signer_issuer == OLD
    _, warnings = rollout.preview_notes(states, [KID_B, KID_A], DAY, now=T0 + 60, issuer_url=new)
    assert warnings == [
        f"the issuer changes from {OLD} to {new}: the API servers keep accepting the old one until "
        f"{rollout.when(T0 + 60 + DAY)}, but AWS stops trusting it now, so pods' tokens signed under it are "
        "refused by STS until the kubelet refreshes them. Name it in irsa:previousIssuerHosts "
        "(docs/issuer-hosting.md) to keep it published and trusted"]
    assert rollout.preview_notes(states, [KID_B, KID_A], DAY, now=T0 + 60, issuer_url=new,
                                 previous_issuer_urls=[OLD])[1] == []
    assert rollout.preview_notes(states, [KID_B, KID_A], DAY, now=T0 + 60, issuer_url=OLD)[1] == []


def test_after_a_retire_preview_no_longer_says_anything_is_held(pulumi_mocks, monkeypatch):
    from test_cluster import make

    original = IrsaMocks.new_resource

    def with_state(self, args):
        resource_id, state = original(self, args)
        if args.name.endswith("-sign"):  # reported before the retire dropped them
            state["stdout"] = line(T0, KID_B, KID_A, OLD, KID_A)
        if args.name.endswith("-retire"):
            state["stdout"] = line(T0, KID_B, KID_A)
        return resource_id, state

    monkeypatch.setattr(IrsaMocks, "new_resource", with_state)
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *a, **kw: logged.append(message))
    monkeypatch.setattr(ClusterIssuerConfigArgs, "__init__", _with_clock(ClusterIssuerConfigArgs.__init__, T0 + 2 * DAY))
    pulumi_mocks.run(make)
    assert not any("still accepts" in m for m in logged), logged
