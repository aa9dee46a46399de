#!/usr/bin/env python3
"""What the program costs to evaluate: a benchmark run by hand, never by CI.

Evaluates the real ``__main__.py`` under the test suite's Pulumi mocks
(``tests/conftest.py``: ``IrsaMocks``, ``RecordingMonitor``, ``Recorder.run``,
``run_program``, ``stack_file_config``) with 1, 10 and 100 generated service
accounts, and in the same run the bare import of the provider SDKs the program
uses. Every repetition runs in a fresh subprocess, so imports are cold for
Python and warm for the OS file cache (one discarded warm-up run per case).

Prints a table (median wall time of the whole child process, its phases, peak
RSS of the child, resources registered) and two ratios: the program with one
service account over the bare SDK import (our own overhead) and 100 service
accounts over 1 (how the cost grows). It asserts that the program did what it
should (role count, no errors) but nothing about time.

    .venv/bin/python bench/program_cost.py --repeat 5
    .venv/bin/python bench/program_cost.py --profile program-100   # cProfile one run

The mocks' ``tls.PrivateKey`` makes a fresh 2048-bit RSA key and loads it back
with validation, which is the mock's cost, not the program's: by default every
child replays the state ``IrsaMocks`` gave one key, made once per benchmark
run; ``--real-keys`` measures with the mock's own key generation.
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()  # before any import this process makes for the measured case
import gc  # noqa: E402

_GC = {"seconds": 0.0, "full": 0, "started": 0.0}


def _gc_timer(phase: str, info: dict) -> None:
    """Time spent in the cyclic garbage collector, and how many full (generation 2) collections."""
    if phase == "start":
        _GC["started"] = time.perf_counter()
    else:
        _GC["seconds"] += time.perf_counter() - _GC["started"]
        _GC["full"] += info["generation"] == 2


gc.callbacks.append(_gc_timer)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
STACK_FILE = ROOT / "Pulumi.dev.yaml"
SDKS = ("pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_github", "pulumi_tls", "pulumi_command")
IMPORT_CASE = "import-sdks"
HARNESS_CASE = "mock-harness"
DEFAULT_SIZES = (1, 10, 100)
PHASE_MARK = "bench: evaluation starts"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
NAMESPACES = 10


# --- generated settings ---------------------------------------------------------------------------


def generated_accounts(count: int) -> list[dict]:
    """``count`` valid ``irsa:serviceAccounts`` entries, mixed the way a real stack might be.

    Even entries get an S3 prefix and a test pod, odd ones managed policy ARNs
    (every fourth two of them), every fifth an inline policy as well, the first
    account of each namespace creates it, and every twentieth is a wildcard
    pattern (a role with no Kubernetes objects). Every role has a permission,
    so the program logs no warnings.
    """
    entries = []
    for i in range(count):
        namespace = f"team-{i % NAMESPACES}"
        entry: dict = {"namespace": namespace, "name": f"app-{i:03d}"}
        if i % 20 == 19:
            entry |= {"name": f"batch-{i:03d}-*", "allowWildcard": True,
                      "policyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}
            entries.append(entry)
            continue
        if i % 2 == 0:
            entry |= {"s3BucketPrefix": f"bench-{namespace}-app-{i:03d}", "testPod": True}
        else:
            arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
            if i % 4 == 1:
                arns.append("arn:aws:iam::123456789012:policy/bench/extra")
            entry["policyArns"] = arns
        if i % 5 == 4:
            entry["policy"] = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sqs:SendMessage",
                 "Resource": f"arn:aws:sqs:ap-northeast-1:123456789012:{namespace}-{i:03d}"}]}
        if i < NAMESPACES:
            entry["createNamespace"] = True
        entries.append(entry)
    return entries


# --- child: one measured case in a fresh interpreter ----------------------------------------------


def _child(case: str, key_cache: str | None) -> dict:
    """Run one case in this process; return what the parent tabulates."""
    if case == IMPORT_CASE:
        for name in SDKS:
            __import__(name)
        return {"setup": time.perf_counter() - _T0, "evaluate": 0.0, "resources": 0, "custom": 0}

    sys.path.insert(0, str(TESTS))
    import conftest  # the test suite's mocks: pulumi, pytest, yaml, cryptography
    import pulumi
    from pulumi.runtime import settings as runtime_settings

    mocks_class = conftest.IrsaMocks
    replayed: list[str] = []
    if key_cache:
        states = json.loads(Path(key_cache).read_text())

        class CachedKeyMocks(conftest.IrsaMocks):
            """IrsaMocks, but a PrivateKey gets the key state IrsaMocks made once in the parent.

            Otherwise each key costs a 2048-bit generation plus a validating
            load (about 30 + 35 ms here): the mock's cost, not the program's.
            """

            def new_resource(self, args):
                state = states.get(str(int(args.inputs.get("rsaBits", 2048))))  # numbers arrive as floats
                if args.typ == PRIVATE_KEY and state is not None:
                    replayed.append(args.name)
                    return f"{args.name}-id", dict(args.inputs) | state
                return super().new_resource(args)

        mocks_class = CachedKeyMocks

    # What the pulumi_mocks fixture does, outside pytest.
    recorder = conftest.Recorder()
    runtime_settings.set_root_resource(None)
    monitor = conftest.RecordingMonitor(mocks_class(), recorder)
    pulumi.runtime.set_mocks(mocks_class(), project="irsa", stack="dev", preview=False, monitor=monitor)
    assert runtime_settings.get_monitor() is monitor, "the mocks are not active"
    setup = time.perf_counter()
    print(PHASE_MARK, file=sys.stderr, flush=True)  # splits the -X importtime lines

    if case == HARNESS_CASE:
        recorder.run(lambda: {"nothing": pulumi.Output.from_input(1)})
        accounts = None
    else:
        count = int(case.removeprefix("program-"))
        accounts = generated_accounts(count)
        config = conftest.stack_file_config(STACK_FILE)
        config["irsa:serviceAccounts"] = json.dumps(accounts)
        recorder.run(lambda: conftest.run_program(config))
    end = time.perf_counter()

    if accounts is not None:  # the program did its job; nothing here is about time
        roles = recorder.stack_outputs["serviceAccountRoles"].value
        assert len(roles) == len(accounts), (len(roles), len(accounts))
        assert len(recorder.of_type("aws:iam/role:Role")) == len(accounts)
        if key_cache:  # every key came from the cache, none was generated here
            assert len(replayed) == len(recorder.of_type(PRIVATE_KEY)) > 0, replayed
    return {
        "setup": setup - _T0,
        "evaluate": end - setup,
        "resources": len(recorder.registrations),
        "custom": sum(r.custom for r in recorder.registrations),
    }


# --- parent: repetitions, medians, table ----------------------------------------------------------


def _imports(stderr: str) -> dict:
    """Seconds spent importing, from ``-X importtime``: before and after the evaluation starts.

    Only top-level lines count (their cumulative time includes the nested
    imports), so nothing is counted twice. Also the self time per top-level
    package imported during the evaluation.
    """
    before = after = 0.0
    packages: dict[str, float] = {}
    evaluating = False
    for line in stderr.splitlines():
        if line == PHASE_MARK:
            evaluating = True
            continue
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        name = name[1:]  # one space after the bar; more means nested
        if evaluating:
            package = name.strip().split(".")[0]
            packages[package] = packages.get(package, 0.0) + int(self_us) / 1e6
        if name.startswith("  "):  # nested: already in its parent's cumulative time
            continue
        if evaluating:
            after += int(cumulative_us) / 1e6
        else:
            before += int(cumulative_us) / 1e6
    return {"imports_setup": before, "imports_evaluate": after, "import_packages": packages}


def _run_child(case: str, key_cache: str | None, importtime: bool = True) -> dict:
    python = [sys.executable, "-X", "importtime"] if importtime else [sys.executable]
    command = [*python, str(Path(__file__).resolve()), "--child", case]
    if key_cache:
        command += ["--key-cache", key_cache]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{case} failed (exit {done.returncode}):\n{done.stderr}{done.stdout}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    if importtime:
        result |= _imports(done.stderr)
    return result


def _key_cache(directory: str) -> str:
    """The state conftest's IrsaMocks gives a tls.PrivateKey, made once, for every child to reuse."""
    sys.path.insert(0, str(TESTS))
    import conftest
    import pulumi

    states = {}
    for bits in (2048,):
        inputs = {"algorithm": "RSA", "rsaBits": bits}
        _, state = conftest.IrsaMocks().new_resource(pulumi.runtime.MockResourceArgs(PRIVATE_KEY, "bench", inputs))
        states[str(bits)] = {key: value for key, value in state.items() if key not in inputs}
    path = Path(directory) / "private-key-states.json"
    path.write_text(json.dumps(states))
    return str(path)


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    git = lambda *a: subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    commit = git("rev-parse", "--short", "HEAD") or "no git"
    if git("status", "--porcelain", "--", "__main__.py", "irsa"):
        commit += " with uncommitted changes to __main__.py or irsa/"
    return (f"{date}; {os.cpu_count()} CPUs ({cpu}); Python {platform.python_version()}; "
            f"{platform.system()} {platform.release()}; commit {commit}")


def _phases(r: dict) -> dict:
    """One run's wall time split into imports, evaluation proper, and the rest."""
    if "imports_setup" not in r:  # --plain: no -X importtime, so no split
        return {"setup": r["setup"], "evaluate": r["evaluate"], "rest": r["wall"] - r["setup"] - r["evaluate"]}
    imports = r["imports_setup"] + r["imports_evaluate"]
    evaluating = max(r["evaluate"] - r["imports_evaluate"], 0.0)
    return {"imports": imports, "evaluating": evaluating, "rest": r["wall"] - imports - evaluating}


def _table(cases: list[str], runs: dict[str, list[dict]]) -> list[str]:
    split = "imports_setup" in runs[cases[0]][0]
    columns = (["imports", "evaluating", "rest"] if split else ["setup", "evaluate", "rest"])
    titles = {"imports": "imports s", "evaluating": "evaluating s", "setup": "imports + mock set-up s",
              "evaluate": "evaluate (incl. its imports) s",
              "rest": "start-up, mock set-up, exit s" if split else "start-up, exit s"}
    lines = [
        "| case | resources (custom) | wall s, median (min–max) | "
        + " | ".join(titles[c] for c in columns) + " | of which GC s (full collections) | peak RSS MiB |",
        "|---|---:|---:|" + "---:|" * len(columns) + "---:|---:|",
    ]
    for case in cases:
        rs = runs[case]
        phases = [_phases(r) for r in rs]
        walls = [r["wall"] for r in rs]
        resources = f"{rs[0]['resources']} ({rs[0]['custom']})" if case != IMPORT_CASE else "–"
        cells = " | ".join(f"{statistics.median(p[c] for p in phases):.2f}" for c in columns)
        collector = f"{statistics.median(r['gc'] for r in rs):.2f} ({statistics.median(r['gc_full'] for r in rs):.0f})"
        lines.append(
            f"| {case} | {resources} | {statistics.median(walls):.2f} ({min(walls):.2f}–{max(walls):.2f}) "
            f"| {cells} | {collector} | {statistics.median(r['maxrss_kb'] for r in rs) / 1024:.0f} |"
        )
    return lines


def _evaluation_imports(rs: list[dict], top: int = 6) -> str:
    """The packages imported while the program ran, by median self time."""
    names = {name for r in rs for name in r["import_packages"]}
    seconds = {name: statistics.median(r["import_packages"].get(name, 0.0) for r in rs) for name in names}
    ranked = sorted(seconds.items(), key=lambda item: -item[1])[:top]
    return ", ".join(f"{name} {value * 1000:.0f} ms" for name, value in ranked)


def _profile(case: str, key_cache: str | None, top: int) -> None:
    """One run of the case under cProfile, in a fresh interpreter; prints the top functions."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_file = Path(tmp) / "profile.out"
        command = [sys.executable, "-m", "cProfile", "-o", str(stats_file), str(Path(__file__).resolve()),
                   "--child", case]
        if key_cache:
            command += ["--key-cache", key_cache]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        import pstats

        stats = pstats.Stats(str(stats_file))
        for order in ("cumulative", "tottime"):
            print(f"--- {case}: top {top} by {order} ---")
            stats.sort_stats(order).print_stats(top)
        # Own time of every function, summed by where the function lives.
        areas: dict[str, float] = {}
        for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():
            area = _area(filename, function)
            areas[area] = areas.get(area, 0.0) + tottime
        total = sum(areas.values())
        print(f"--- {case}: own time by area (profiled, {total:.2f} s; main thread only, the mocks answer in"
              " executor threads) ---")
        for area, seconds in sorted(areas.items(), key=lambda item: -item[1]):
            print(f"{seconds:7.3f} s {seconds / total:6.1%}  {area}")


def _area(filename: str, function: str) -> str:
    """Which part of the process a profiled function belongs to."""
    path = filename.replace("\\", "/")
    if path.startswith(str(ROOT / "irsa")) or path == str(ROOT / "__main__.py"):
        return "ours: irsa/ and __main__.py"
    if path.startswith(str(TESTS)) or path.startswith(str(ROOT / "bench")):
        return "harness: tests/conftest.py, bench/"
    if "importlib" in path or function in ("<built-in method marshal.loads>", "<built-in method builtins.exec>",
                                           "<built-in method posix.stat>", "<built-in method builtins.compile>"):
        return "import machinery (importlib, marshal, exec of module bodies)"
    for package in ("pulumi_kubernetes", "pulumi_aws", "pulumi_github", "pulumi_tls", "pulumi_command"):
        if f"/{package}/" in path:
            return f"provider SDK: {package}"
    if "/pulumi/runtime/mocks.py" in path:
        return "pulumi mocks (MockMonitor)"
    if "/pulumi/" in path:
        return "pulumi SDK (resource registration, Outputs, RPC serialisation)"
    if "/asyncio/" in path or "select.epoll" in function:
        return "asyncio event loop"
    if "/typing.py" in path:
        return "typing (type hints resolved by the SDK)"
    if "/cryptography/" in path or "_rust" in function:
        return "cryptography"
    if path == "~":
        return "builtins (isinstance, getattr, ...)"
    return "other stdlib and packages"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per case (default 5)")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="service-account counts, comma-separated (default 1,10,100)")
    parser.add_argument("--real-keys", action="store_true",
                        help="let the mocks generate an RSA key per tls.PrivateKey (the mock's cost)")
    parser.add_argument("--plain", action="store_true",
                        help="run children without -X importtime (no import split; shows its overhead)")
    parser.add_argument("--profile", metavar="CASE", help="cProfile one run of CASE (e.g. program-100) instead")
    parser.add_argument("--top", type=int, default=30, help="functions shown by --profile")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--key-cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = _child(args.child, args.key_cache)
        result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        result["gc"], result["gc_full"] = _GC["seconds"], _GC["full"]
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="irsa-bench-") as tmp:
        key_cache = None if args.real_keys else _key_cache(tmp)
        if args.profile:
            _profile(args.profile, key_cache, args.top)
            return 0
        sizes = [int(s) for s in args.sizes.split(",") if s]
        cases = [IMPORT_CASE, HARNESS_CASE, *(f"program-{n}" for n in sizes)]
        runs: dict[str, list[dict]] = {case: [] for case in cases}
        for case in cases:  # warm-up: fills the OS file cache, not measured
            _run_child(case, key_cache, not args.plain)
        for _ in range(args.repeat):  # round robin, so a noisy moment hits every case alike
            for case in cases:
                runs[case].append(_run_child(case, key_cache, not args.plain))
                print(".", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)

    wall = {case: statistics.median(r["wall"] for r in runs[case]) for case in cases}
    fastest = {case: min(r["wall"] for r in runs[case]) for case in cases}
    rss = {case: statistics.median(r["maxrss_kb"] for r in runs[case]) for case in cases}
    ratio = lambda a, b: f"wall {wall[a] / wall[b]:.2f}× (fastest runs {fastest[a] / fastest[b]:.2f}×)"  # noqa: E731
    print(f"Measured {_machine()}")
    print(f"{args.repeat} runs per case, each in a fresh `{Path(sys.executable).name}` process; "
          f"RSA keys: {'generated by the mocks' if args.real_keys else 'pre-generated, reused'}")
    print()
    print("\n".join(_table(cases, runs)))
    print()
    first, last = f"program-{sizes[0]}", f"program-{sizes[-1]}"
    if not args.plain:
        print(f"Imported while {first} ran (self time, -X importtime): {_evaluation_imports(runs[first])}")
        print()
    print(f"- {first} / {IMPORT_CASE} (our own overhead): {ratio(first, IMPORT_CASE)}, "
          f"peak RSS {rss[first] / rss[IMPORT_CASE]:.2f}×")
    print(f"- {first} / {HARNESS_CASE} (the program beyond the mock harness): {ratio(first, HARNESS_CASE)}")
    if len(sizes) > 1:
        res = {c: runs[c][0]["resources"] for c in (first, last)}
        per = (wall[last] - wall[first]) / max(res[last] - res[first], 1) * 1000
        print(f"- {last} / {first} (how cost grows): {ratio(last, first)}, "
              f"peak RSS {rss[last] / rss[first]:.2f}×, resources {res[last] / res[first]:.1f}× "
              f"({per:.1f} ms per extra resource)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
