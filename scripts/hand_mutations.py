#!/usr/bin/env python3
"""Hand-made mutations of the host scripts and the wiring: each must make its tests fail.

mutmut (scripts/mutation) covers the pure Python modules; the bugs that matter most in
the bash host scripts, the Pulumi wiring and the settings' limits are listed here instead,
one realistic bug each. For every entry the script copies the working tree to a temporary
directory, applies the one text replacement, runs the named tests there and expects pytest
to FAIL. A mutation whose tests pass (or only skip) is reported as a survivor.

Usage (from the repository root; the host tests need root and sshd, as in CI):
    .venv/bin/python scripts/hand_mutations.py            # every mutation
    .venv/bin/python scripts/hand_mutations.py --list     # names only
    .venv/bin/python scripts/hand_mutations.py NAME...    # some of them
Exit status: 0 when every mutation was caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


HOST = "tests/apiserver/test_host_safety.py"
PINNED = "tests/apiserver/test_pinned_host.py"
OPTIONS = "tests/test_pinned_options.py"
MUTATIONS = (
    # --- wiring: resources must go through the explicit providers -------------------------
    Mutation("kubernetes objects lose the explicit provider", "__main__.py",
             "in_cluster = pulumi.ResourceOptions(providers=[kubernetes])",
             "in_cluster = pulumi.ResourceOptions()",
             ("tests/test_wiring.py",)),
    Mutation("GitHub files lose the explicit provider", "__main__.py",
             "opts=pulumi.ResourceOptions(providers=[github_provider, *filter(None, [issuer_provider])]),",
             "opts=None,", ("tests/test_wiring.py",)),
    Mutation("a role of another account is made in the stack's own", "__main__.py",
             "            opts=in_account(account.account),\n", "            opts=None,\n",
             ("tests/test_accounts.py", "tests/test_accounts_moto.py")),
    Mutation("OIDC providers of other accounts go through the default provider", "__main__.py",
             "return pulumi.ResourceOptions.merge(in_account(account), former) if former else in_account(account)",
             "return former", ("tests/test_accounts.py",)),
    Mutation("the issuer's bucket ignores irsa:issuerAccount", "__main__.py",
             "opts=pulumi.ResourceOptions(providers=[github_provider, *filter(None, [issuer_provider])]),",
             "opts=pulumi.ResourceOptions(providers=[github_provider]),", ("tests/test_accounts.py",)),
    Mutation("the issuer documents lose the stack's tags", "irsa/components/s3_store.py",
             'tags={**self._args.tags, "irsa/document": document.what[:256]},',
             'tags={"irsa/document": document.what[:256]},', ("tests/test_tags.py",)),
    Mutation("an invoke the mocks do not know answers {}", "tests/conftest.py",
             '        raise UnknownInvoke(f"the test mocks do not know the invoke {args.token}: add it to IrsaMocks.call")',
             "        return {}", ("tests/test_wiring.py",)),
    # --- host scripts -----------------------------------------------------------------
    Mutation("signing key handed to /usr/bin/printf (an external command)", "irsa/apiserver/common.sh",
             """< <(printf '%s' "$IRSA_SIGNING_KEY")""", """< <(/usr/bin/printf '%s' "$IRSA_SIGNING_KEY")""",
             (HOST,)),
    Mutation("signing key on env's command line", "irsa/apiserver/common.sh",
             """< <(printf '%s' "$IRSA_SIGNING_KEY")""", """< <(env IRSA_K="$IRSA_SIGNING_KEY" printenv IRSA_K)""",
             (HOST,)),
    Mutation("the revert's rollback does not put irsa's file back", "irsa/apiserver/common.sh",
             '      irsa_restore_copy "$config" "$previous"\n      irsa_dist_restart_and_wait || true\n',
             "      irsa_dist_restart_and_wait || true\n", (HOST,)),
    Mutation("new key files not chowned to root", "irsa/apiserver/common.sh",
             '  chown 0:0 -- "$IRSA_TEMP"\n', "  true\n", (HOST,)),
    Mutation("unchanged key files keep a foreign owner", "irsa/apiserver/common.sh",
             '    chown 0:0 -- "$dest"\n', "    true\n", (HOST,)),
    Mutation("the args file loses its owner and mode", "irsa/apiserver/common.sh",
             'irsa_replace_file() {\n  irsa_own_like "$1" "$2"\n', "irsa_replace_file() {\n",
             (HOST,)),
    Mutation("the systemd-run unit loses --setenv=PATH", "irsa/apiserver/common.sh",
             ' --setenv=PATH="$PATH"', "", ("tests/apiserver/test_systemd_run.py",)),
    # --- issue 24: the kinds of bug a mutation audit found slipping through ---------------
    Mutation("retire may run while the node signs with another issuer", "irsa/apiserver/common.sh",
             '      if [ "$IRSA_CUR_SIGN_ISSUER" != "$IRSA_ISSUER" ] || [ "$IRSA_CUR_SIGN_KID" != "${IRSA_KEY_IDS[0]}" ]; then',
             '      if [ "$IRSA_CUR_SIGN_KID" != "${IRSA_KEY_IDS[0]}" ]; then', (PINNED,)),
    Mutation("retire keeps the keys it should drop", "irsa/apiserver/common.sh",
             '        kids=("${IRSA_KEY_IDS[@]}")\n      fi\n      ;;\n    apply)',
             '        kids=("${IRSA_KEY_IDS[@]}" "${IRSA_CUR_KIDS[@]}")\n      fi\n      ;;\n    apply)', (PINNED,)),
    Mutation("revert takes any irsa-sa-* file for a key file", "irsa/apiserver/common.sh",
             "case ${1##*/} in irsa-sa-*.pub | irsa-sa-*.key) return 0", "case ${1##*/} in irsa-sa-*) return 0",
             (PINNED,)),
    Mutation("revert leaves the backups", "irsa/apiserver/common.sh",
             '  irsa_forget_backups "$config"\n', "", (PINNED,)),
    Mutation("kubeadm takes the old container for the new one", "irsa/apiserver/kubeadm.sh",
             '[ -n "$id" ] && [ "$id" != "$1" ] &&', '[ -n "$id" ] &&', (PINNED,)),
    Mutation("kubeadm quotes an older container's error", "irsa/apiserver/kubeadm.sh",
             '[ -n "$id" ] && [ "$id" != "$KUBEADM_EXITED" ] || return 0', '[ -n "$id" ] || return 0', (PINNED,)),
    Mutation("kubeadm counts a sibling folder as mounted", "irsa/apiserver/kubeadm.sh",
             'index(key_dir, path "/") == 1', "index(key_dir, path) == 1", (PINNED,)),
    Mutation("the lock wait bounded by the ready timeout", "irsa/apiserver/common.sh",
             'flock -w "$IRSA_LOCK_TIMEOUT" 9', 'flock -w "$IRSA_READY_TIMEOUT" 9', (PINNED,)),
    Mutation("workloads restart when the host signs again", "irsa/apiserver/common.sh",
             'if [ "$IRSA_RESTART_WORKLOADS" = true ] && [ -n "$IRSA_WANT_SIGN_ISSUER" ]; then irsa_restart_workloads; fi',
             'if [ "$IRSA_RESTART_WORKLOADS" = true ]; then irsa_restart_workloads; fi', (PINNED,)),
    Mutation("check-config takes any mapping with secure for encrypted", "irsa/project_config.py",
             'isinstance(value, dict) and set(value) == {"secure"}', 'isinstance(value, dict) and "secure" in value',
             (OPTIONS,)),
    Mutation("check-config judges a plain key set as a secret", "irsa/check_config.py",
             'and not settings.KEYS[k.removeprefix(f"{settings.NAMESPACE}:")].secret)', ")", (OPTIONS,)),
    Mutation("velero's objects reach every bucket starting with its name", "irsa/presets.py",
             '"Resource": [f"arn:{partition}:s3:::{bucket}/*"]},\n        {"Sid": "ListBackupBucket"',
             '"Resource": [f"arn:{partition}:s3:::{bucket}*"]},\n        {"Sid": "ListBackupBucket"', (OPTIONS,)),
    Mutation("external-secrets reads secrets through the parameter statement", "irsa/presets.py",
             '"Resource": list(p["parameterArns"])', '"Resource": list(p["parameterArns"]) + list(p.get("secretArns", []))',
             (OPTIONS,)),
    Mutation("a role path may be //", "irsa/settings/roles.py",
             r'_ROLE_PATH = re.compile(r"/|/[\x21-\x7e]+/")', r'_ROLE_PATH = re.compile(r"/|/[\x21-\x7e]*/")',
             (OPTIONS,)),
    # --- the verifier's rarer paths ---------------------------------------------------
    Mutation("StringLike matches a prefix only", "irsa/verify/trust.py",
             "re.fullmatch(regex, value, re.DOTALL)", "re.match(regex, value, re.DOTALL)",
             ("tests/test_trust_semantics.py",)),
    Mutation("ForAllValues evaluated like ForAnyValue", "irsa/verify/trust.py",
             "satisfied = all(holds(v) for v in values)", "satisfied = any(holds(v) for v in values)",
             ("tests/test_trust_semantics.py",)),
    Mutation("caller-identity passes for any identity", "irsa/verify/checks.py",
             "    if not _is_session_of(arn, inputs.role_arn):", "    if False:",
             ("tests/test_trust_semantics.py",)),
    Mutation("s3-prefix's denied half accepts any error code", "irsa/verify/checks.py",
             '        if error_code(err) != "AccessDenied":', "        if False:",
             ("tests/test_trust_semantics.py",)),
    # --- values the fixtures now compute independently --------------------------------
    Mutation("wrong sub format", "irsa/policies.py",
             'return f"system:serviceaccount:{namespace}:{name}"',
             'return f"system:serviceaccounts:{namespace}:{name}"',
             ("tests/test_verify_e2e.py", "tests/test_policies_moto.py")),
    Mutation("kid from SHA-1 instead of SHA-256", "irsa/oidc.py",
             "digest = hashlib.sha256(der).digest()", "digest = hashlib.sha1(der).digest()",
             ("tests/test_verify_e2e.py", "tests/test_cli.py", "tests/test_issuer.py")),
    # --- settings limits and pod details ----------------------------------------------
    Mutation("token lifetime upper bound loosened", "irsa/settings/tokens.py",
             "600 <= expiration <= 86400", "600 <= expiration <= 86401",
             ("tests/test_settings_bounds.py",)),
    Mutation("one client id too many allowed", "irsa/settings/tokens.py",
             "len(set(extra) | {audience}) <= 100", "len(set(extra) | {audience}) <= 101",
             ("tests/test_settings_bounds.py",)),
    Mutation("bucket prefixes may start with xn--", "irsa/settings/service_accounts.py",
             'prefix.startswith(("xn--", "sthree-", "amzn-s3-demo-"))',
             'prefix.startswith(("sthree-", "amzn-s3-demo-"))', ("tests/test_settings_bounds.py",)),
    Mutation("bucket prefixes may hold '..'", "irsa/settings/service_accounts.py",
             'and ".." not in prefix', "", ("tests/test_settings_bounds.py",)),
    Mutation("policy ARNs with any account length", "irsa/settings/roles.py",
             r"iam::(?:\d{12}|aws):policy/", r"iam::(?:\d+|aws):policy/", ("tests/test_settings_bounds.py",)),
    Mutation("token mount no longer read-only", "irsa/components/workload.py",
             "mount_path=TOKEN_DIRECTORY, read_only=True", "mount_path=TOKEN_DIRECTORY",
             ("tests/test_pod_spec.py",)),
    Mutation("test pod restarts forever", "irsa/components/workload.py",
             'restart_policy="Never",\n            security_context',
             'restart_policy="Always",\n            security_context', ("tests/test_pod_spec.py",)),
)


def copy_tree(destination: Path) -> None:
    """The working tree as it is (tracked and new files, not ignored ones)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def run_one(mutation: Mutation, python: str) -> tuple[bool, str]:
    """(caught, summary) for one mutation applied to a fresh copy of the tree."""
    with tempfile.TemporaryDirectory(prefix="irsa-hand-mutation-") as temp:
        tree = Path(temp)
        copy_tree(tree)
        target = tree / mutation.path
        text = target.read_text()
        count = text.count(mutation.old)
        if count != 1:
            return False, f"the text to mutate occurs {count} times in {mutation.path}: fix this list"
        target.write_text(text.replace(mutation.old, mutation.new))
        result = subprocess.run([python, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                 *mutation.tests], cwd=tree, capture_output=True, text=True)
        last = (result.stdout.strip().splitlines() or [""])[-1]
        return result.returncode == 1, last


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="run only the mutations with these names")
    parser.add_argument("--list", action="store_true", help="print the mutations' names and exit")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(m.name)
        return 0
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    if args.names and len(chosen) != len(args.names):
        parser.error(f"unknown names; known: {', '.join(m.name for m in MUTATIONS)}")
    survivors = 0
    for m in chosen:
        caught, last = run_one(m, sys.executable)
        survivors += not caught
        print(f"{'caught  ' if caught else 'SURVIVED'} {m.name}: {last}", flush=True)
    print(f"{len(chosen) - survivors}/{len(chosen)} mutations caught")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
