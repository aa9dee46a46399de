#!/usr/bin/env python3
"""Mechanical mutations of the host scripts: each statement deleted, each test condition negated.

For ``irsa/apiserver/common.sh``, ``k3s.sh``, ``kubeadm.sh`` and ``microk8s.sh``
this makes one mutant per bash statement (the line becomes ``:``) and one per
test condition (``if C; then`` → ``if ! { C; }; then``, likewise ``elif``,
``while``, ``until``, and a line starting ``[ … ] &&``/``||`` → ``! [ … ] …``).
Lines inside a quoted program (awk, sed) and multi-line commands are left
alone; so are bare declarations (``local a b``) and the structure
(``fi``, ``done``, ``}``…). A mutant that bash cannot parse (``bash -n``) is
not counted.

Each mutant is written into one copy of the working tree and the host tests
chosen for its file (``TESTS``) run against it with ``-x``; a failing run kills
the mutant. A run over ``--timeout`` is reported apart (on shared CPUs the host
tests alone can take minutes): run it again alone with a longer timeout.
The host tests need root and sshd, as in CI.

Usage (from the repository root):
    .venv/bin/python scripts/host_mutations.py --list                  # the mutants, counted
    .venv/bin/python scripts/host_mutations.py --sample 40 --seed 1    # a random sample
    .venv/bin/python scripts/host_mutations.py --file k3s.sh           # every mutant of one file
    .venv/bin/python scripts/host_mutations.py --only common.sh:512:negate
    --json FILE writes every result; exit status 0 when every mutant run was killed.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from hand_mutations import copy_tree  # scripts/ is on sys.path when a script here runs

ROOT = Path(__file__).resolve().parent.parent
SHELL_DIR = "irsa/apiserver"
FILES = ("common.sh", "k3s.sh", "kubeadm.sh", "microk8s.sh")
HOST = "tests/apiserver/"
# The host tests that exercise each file, the quickest and broadest first (-x stops at the
# first failure, so a killed mutant costs little).
TESTS: dict[str, tuple[str, ...]] = {
    "microk8s.sh": (f"{HOST}test_microk8s_host.py", f"{HOST}test_hand_configured.py", f"{HOST}test_pinned_host.py"),
    "k3s.sh": (f"{HOST}test_distro_hosts.py", f"{HOST}test_distro_accept.py", f"{HOST}test_pinned_host.py",
               "-k", "k3s"),
    "kubeadm.sh": (f"{HOST}test_distro_hosts.py", f"{HOST}test_distro_accept.py", f"{HOST}test_pinned_host.py",
                   "-k", "kubeadm"),
    # The shared flow, through MicroK8s (the quickest fakes) and the tests of the run itself.
    "common.sh": (f"{HOST}test_microk8s_host.py", f"{HOST}test_pinned_host.py", f"{HOST}test_host_safety.py",
                  f"{HOST}test_faults.py", f"{HOST}test_systemd_run.py"),
}

_STRUCTURE = re.compile(r"^\s*(\}|\{|fi|done|esac|then|else|do|;;|\(|\)|.*\(\) \{|case .* in|[^()\s]+\)|"
                        r"[^()]*\|[^()]*\))\s*$")
_DECLARATION = re.compile(r"^\s*local(\s+-[a-z]+)?(\s+[A-Za-z_][A-Za-z0-9_]*)+\s*$")
_CONDITION = re.compile(r"^(\s*(?:if|elif|while|until)\s+)(.+?)(;\s*(?:then|do)\b.*)$")
_CASE_ITEM = re.compile(r"^(\s*[^()\s]+\)\s+)(.+?)(\s*;;\s*)$")
_TEST_LINE = re.compile(r"^(\s*)(\[\[? .*)$")
# A block's first line (the body follows on later lines): only its condition is mutated.
_OPENER = re.compile(r"^\s*(?:(?:if|elif|while|until|for)\s.*;\s*(?:then|do)|\w+\(\)\s*\{(\s*#.*)?)\s*$")
_ONE_LINE_FUNCTION = re.compile(r"^(\s*\w+\(\)\s*\{\s)(.+?)(;?\s*\})\s*$")


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int  # 1-based
    kind: str  # delete | negate
    before: str
    after: str

    @property
    def name(self) -> str:
        return f"{self.file}:{self.line}:{self.kind}"


def _line_states(text: str) -> list[tuple[bool, bool]]:
    """Per line: (starts outside quotes, ends outside quotes and not continued)."""
    states = []
    quote = None  # None, "'" or '"'
    for line in text.split("\n"):
        start = quote is None
        i = 0
        while i < len(line):
            c = line[i]
            if quote is None:
                if c == "#" and (i == 0 or line[i - 1] in " \t;|&("):
                    break
                if c == "\\":
                    i += 2
                    continue
                if c in "'\"":
                    quote = c
            elif quote == "'":
                if c == "'":
                    quote = None
            else:
                if c == "\\":
                    i += 2
                    continue
                if c == '"':
                    quote = None
            i += 1
        states.append((start, quote is None and not line.rstrip().endswith("\\")))
    return states


def mutants_of(name: str, text: str) -> list[Mutant]:
    """Every mutant of one script's text."""
    lines = text.split("\n")
    states = _line_states(text)
    found = []
    continued = False
    for number, (line, (starts, ends)) in enumerate(zip(lines, states, strict=True), start=1):
        whole = starts and ends and not continued
        continued = starts and not ends and not line.rstrip().endswith("'") and line.rstrip().endswith("\\") \
            or (continued and not ends)
        stripped = line.strip()
        if not whole or not stripped or stripped.startswith("#") or _STRUCTURE.match(line) \
                or _DECLARATION.match(line):
            continue
        indent = line[: len(line) - len(line.lstrip())]
        condition = _CONDITION.match(line)
        if _OPENER.match(line):
            if condition:
                found.append(Mutant(name, number, "negate", line,
                                    f"{condition.group(1)}! {{ {condition.group(2)}; }}{condition.group(3)}"))
            continue
        function = _ONE_LINE_FUNCTION.match(line)
        if function:
            found.append(Mutant(name, number, "delete", line, f"{function.group(1)}:; }}"))
            continue
        case_item = _CASE_ITEM.match(line)
        if case_item and case_item.group(2).strip():
            found.append(Mutant(name, number, "delete", line, f"{case_item.group(1)}:{case_item.group(3)}"))
            continue
        found.append(Mutant(name, number, "delete", line, f"{indent}:"))
        if condition:
            found.append(Mutant(name, number, "negate", line,
                                f"{condition.group(1)}! {{ {condition.group(2)}; }}{condition.group(3)}"))
        elif _TEST_LINE.match(line) and re.search(r"\]\]? (&&|\|\|)|\]\]?\s*$", line):
            test = _TEST_LINE.match(line)
            found.append(Mutant(name, number, "negate", line, f"{test.group(1)}! {test.group(2)}"))
    return found


def parses(mutant: Mutant, text: str) -> bool:
    """Whether bash can parse the file with this mutant in it (bash -n)."""
    lines = text.split("\n")
    lines[mutant.line - 1] = mutant.after
    return subprocess.run(["bash", "-n"], input="\n".join(lines), text=True, capture_output=True).returncode == 0


def all_mutants(texts: dict[str, str] | None = None) -> list[Mutant]:
    """Every mutant bash can parse, in file and line order."""
    texts = texts or {f: (ROOT / SHELL_DIR / f).read_text() for f in FILES}
    return [m for f in FILES for m in mutants_of(f, texts[f]) if parses(m, texts[f])]


def run_one(tree: Path, mutant: Mutant, timeout: int) -> tuple[str, str, float]:
    """(result, last line, seconds): killed, survived, timeout or invalid.

    A timeout is not counted either way: on shared CPUs the tests themselves may take
    that long; run the mutant again alone (--only) with a longer --timeout."""
    path = tree / SHELL_DIR / mutant.file
    original = path.read_text()
    lines = original.split("\n")
    assert lines[mutant.line - 1] == mutant.before, mutant
    lines[mutant.line - 1] = mutant.after
    path.write_text("\n".join(lines))
    started = time.monotonic()
    try:
        if subprocess.run(["bash", "-n", str(path)], capture_output=True).returncode != 0:
            return "invalid", "bash -n refuses it", 0.0
        try:
            tests = [t for t in TESTS[mutant.file] if not t.endswith(".py") or (tree / t).exists()]
            result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                     *tests], cwd=tree, capture_output=True, text=True,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            return "timeout", f"over {timeout}s", time.monotonic() - started
        last = (result.stdout.strip().splitlines() or [""])[-1]
        outcome = {0: "survived", 1: "killed"}.get(result.returncode, f"error{result.returncode}")
        return outcome, last, time.monotonic() - started
    finally:
        path.write_text(original)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print the mutants and their count")
    parser.add_argument("--file", action="append", choices=FILES, help="only this file's mutants")
    parser.add_argument("--only", nargs="+", metavar="FILE:LINE:KIND", help="only these mutants")
    parser.add_argument("--sample", type=int, help="a random sample of this many mutants")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per mutant (default 900)")
    parser.add_argument("--json", type=Path, help="write every result to this file")
    parser.add_argument("--skip-logging", action="store_true",
                        help="do not run deletions of irsa_log lines (reported as logging)")
    args = parser.parse_args(argv)
    texts = {f: (ROOT / SHELL_DIR / f).read_text() for f in FILES}
    mutants = [m for m in all_mutants(texts) if not args.file or m.file in args.file]
    if args.only:
        mutants = [m for m in mutants if m.name in args.only]
    if args.sample and args.sample < len(mutants):
        mutants = sorted(random.Random(args.seed).sample(mutants, args.sample),
                         key=lambda m: (FILES.index(m.file), m.line, m.kind))
    if args.list:
        for m in mutants:
            print(f"{m.name}\t{m.before.strip()}  =>  {m.after.strip()}")
        counts = {f: sum(m.file == f for m in mutants) for f in FILES}
        print(f"{len(mutants)} mutants: " + ", ".join(f"{f} {n}" for f, n in counts.items()))
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="irsa-host-mutation-") as temp:
        tree = Path(temp)
        copy_tree(tree)
        for f, text in texts.items():  # exactly the text the mutants were made from
            (tree / SHELL_DIR / f).write_text(text)
        for m in mutants:
            if args.skip_logging and m.kind == "delete" and m.before.strip().startswith("irsa_log "):
                outcome, last, seconds = "logging", "not run (--skip-logging)", 0.0
            else:
                outcome, last, seconds = run_one(tree, m, args.timeout)
            results.append({**asdict(m), "name": m.name, "result": outcome, "last": last,
                            "seconds": round(seconds, 1)})
            print(f"{outcome:9} {m.name:28} {m.before.strip()[:90]}  [{last}]", flush=True)
            if args.json:
                args.json.write_text(json.dumps(results, indent=1))
    counted = [r for r in results if r["result"] in ("killed", "survived")]
    detected = [r for r in counted if r["result"] == "killed"]
    print(f"{len(detected)}/{len(counted)} mutants killed "
          f"({100 * len(detected) / max(len(counted), 1):.1f} %); "
          f"{sum(r['result'] == 'logging' for r in results)} logging only (not run), "
          f"{sum(r['result'] == 'timeout' for r in results)} timed out, "
          f"{sum(r['result'].startswith('error') for r in results)} errors")
    return 0 if len(detected) == len(counted) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
