"""The GitHub Actions workflows: actionlint finds nothing, and the security facts hold.

actionlint (with shellcheck for the ``run:`` scripts) comes from
requirements-dev.txt: both PyPI packages ship the binary in their wheels, so
``pip install`` puts them next to the venv's python. Without them the lint test
skips, except under ``CI=true`` where it fails. A deliberately broken workflow
must produce findings, so the lint cannot pass by checking nothing.

The rest reads the YAML: top-level and per-job ``permissions``, ``id-token:
write`` only where AWS is assumed, ``pull-requests: write`` only where the
preview is commented, an ``environment`` and a per-stack ``concurrency`` group
on every ``pulumi up`` job, a preview for every stack file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT

WORKFLOWS_DIR = ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml")) + sorted(WORKFLOWS_DIR.glob("*.yaml"))
STACK_NAMES = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))

AWS_CREDENTIALS_ACTION = "aws-actions/configure-aws-credentials"
PULUMI_ACTION = "pulumi/actions"


# --- helpers --------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path.name}: not a YAML mapping"
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    """The ``on:`` section (PyYAML reads the bare key ``on`` as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {event: None for event in on}
    assert isinstance(on, dict), f"unexpected on: {on!r}"
    return on


def all_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, job) for every job of every workflow."""
    return [(path.name, job_id, job)
            for path in WORKFLOWS
            for job_id, job in load(path)["jobs"].items()]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).split("@")[0] == action]


def pulumi_commands(job: dict[str, Any]) -> list[str]:
    return [s.get("with", {}).get("command") for s in steps_using(job, PULUMI_ACTION)
            if s.get("with", {}).get("command")]


def up_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, j, job) for f, j, job in all_jobs() if "up" in pulumi_commands(job)]


def preview_jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(f, j, job) for f, j, job in all_jobs() if "preview" in pulumi_commands(job)]


def job_env(job: dict[str, Any]) -> dict[str, Any]:
    return job.get("env") or {}


def job_stacks(job: dict[str, Any]) -> list[str]:
    """The stacks a job runs for: its matrix, or its STACK env."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    if "stack" in matrix:
        return list(matrix["stack"])
    return [job_env(job)["STACK"]]


def find_tool(name: str) -> str | None:
    """A tool installed by requirements-dev.txt (beside this python), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def actionlint(*files: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe, shellcheck = find_tool("actionlint"), find_tool("shellcheck")
    if exe is None or shellcheck is None:
        missing = " and ".join(n for n, p in (("actionlint", exe), ("shellcheck", shellcheck)) if p is None)
        reason = f"{missing} not installed (pip install -r requirements-dev.txt)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    # shellcheck from the venv, so every machine checks the run: scripts alike;
    # pyflakes off (no Python in run: steps), so no result depends on what PATH holds.
    return subprocess.run(
        [exe, "-oneline", "-no-color", "-shellcheck", shellcheck, "-pyflakes=", *map(str, files)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )


# --- actionlint -----------------------------------------------------------


def test_there_are_workflows_to_check():
    names = {p.name for p in WORKFLOWS}
    assert {"test.yml", "preview.yml", "deploy.yml"} <= names, names


def test_actionlint_finds_nothing_in_the_workflows():
    result = actionlint(*WORKFLOWS, cwd=ROOT)
    assert result.returncode == 0 and not result.stdout.strip(), (
        f"actionlint exit {result.returncode}:\n{result.stdout}{result.stderr}"
    )


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The same invocation fails on mistakes: an unknown event, an unknown action
    input, a bad expression and an unquoted shell variable (via shellcheck)."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(
        "name: broken\n"
        "on: pushh\n"
        "permissions:\n"
        "  contents: read\n"
        "jobs:\n"
        "  a:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v7\n"
        "        with:\n"
        "          no-such-input: true\n"
        "      - run: echo ${{ github.no_such_thing }} $UNQUOTED\n"
    )
    result = actionlint(broken, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    findings = result.stdout
    assert '"pushh"' in findings, findings
    assert "no-such-input" in findings, findings
    assert "[shellcheck]" in findings and "SC2086" in findings, findings


# --- YAML and security facts ----------------------------------------------


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_workflow_parses_and_has_the_basic_keys(path):
    workflow = load(path)
    assert workflow.get("name"), f"{path.name}: no name"
    assert triggers(workflow), f"{path.name}: no on:"
    assert workflow.get("jobs"), f"{path.name}: no jobs"


@pytest.mark.parametrize("path", WORKFLOWS, ids=[p.name for p in WORKFLOWS])
def test_top_level_permissions_are_read_only(path):
    workflow = load(path)
    assert "permissions" in workflow, f"{path.name}: no top-level permissions"
    assert workflow["permissions"] == {"contents": "read"}, (
        f"{path.name}: top-level permissions must be contents: read only, got {workflow['permissions']}"
    )


def test_every_job_declares_its_own_permissions():
    for file, job_id, job in all_jobs():
        assert isinstance(job.get("permissions"), dict), f"{file}:{job_id} has no permissions mapping"
        assert job["permissions"].get("contents") == "read", f"{file}:{job_id}"


def test_id_token_write_only_where_aws_is_assumed():
    assuming = 0
    for file, job_id, job in all_jobs():
        assumes_aws = bool(steps_using(job, AWS_CREDENTIALS_ACTION))
        has_id_token = job["permissions"].get("id-token") == "write"
        assert has_id_token == assumes_aws, (
            f"{file}:{job_id}: id-token: write {'missing' if assumes_aws else 'without'} "
            f"an {AWS_CREDENTIALS_ACTION} step"
        )
        assuming += assumes_aws
    assert assuming >= 1 + len(STACK_NAMES)  # the previews and one up job per stack


def test_aws_is_assumed_through_oidc_only():
    for file, job_id, job in all_jobs():
        for step in steps_using(job, AWS_CREDENTIALS_ACTION):
            options = step.get("with") or {}
            assert options.get("role-to-assume") and options.get("aws-region"), f"{file}:{job_id}"
            assert not {"aws-access-key-id", "aws-secret-access-key"} & set(options), f"{file}:{job_id}"
    for path in WORKFLOWS:
        text = path.read_text()
        assert "AWS_ACCESS_KEY_ID" not in text and "AWS_SECRET_ACCESS_KEY" not in text, path.name


def test_only_the_preview_writes_to_pull_requests():
    for file, job_id, job in all_jobs():
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        comments = any(str((s.get("with") or {}).get("comment-on-pr")).lower() == "true"
                       for s in steps_using(job, PULUMI_ACTION))
        assert ("pull-requests" in writes) == comments, f"{file}:{job_id}"
        assert writes <= {"id-token", "pull-requests"}, f"{file}:{job_id} writes {writes}"


def test_pull_requests_get_a_preview_of_every_stack_commented_on_the_pr():
    jobs = preview_jobs()
    assert len(jobs) == 1, [j for _, j, _ in jobs]
    file, job_id, job = jobs[0]
    on = triggers(load(WORKFLOWS_DIR / file))
    assert "pull_request" in on and "pull_request_target" not in on, on
    assert sorted(job_stacks(job)) == STACK_NAMES
    (step,) = [s for s in steps_using(job, PULUMI_ACTION) if s.get("with", {}).get("command") == "preview"]
    options = step["with"]
    assert options["stack-name"] == "${{ matrix.stack }}"
    assert str(options["comment-on-pr"]).lower() == "true"
    assert options["github-token"] == "${{ secrets.GITHUB_TOKEN }}"
    # A preview changes nothing, so no environment (no approval wait on every PR).
    assert "environment" not in job


def test_every_stack_has_an_up_job_with_its_environment_and_concurrency_group():
    jobs = up_jobs()
    stacks = sorted(s for _, _, job in jobs for s in job_stacks(job))
    assert stacks == STACK_NAMES, "one pulumi up job per stack"
    for file, job_id, job in jobs:
        (stack,) = job_stacks(job)
        on = triggers(load(WORKFLOWS_DIR / file))
        assert set(on) == {"push", "workflow_dispatch"} and on["push"]["branches"] == ["main"], on
        assert job.get("if") == "github.ref == 'refs/heads/main'", f"{job_id}: deploys only main"
        assert job.get("environment") == stack, f"{job_id}: environment must be {stack}"
        concurrency = job.get("concurrency")
        assert isinstance(concurrency, dict), f"{job_id}: no concurrency"
        assert stack in concurrency["group"] and "${{" not in concurrency["group"], concurrency
        assert concurrency["cancel-in-progress"] is False, f"{job_id}: never cancel a running update"
        (step,) = [s for s in steps_using(job, PULUMI_ACTION) if s.get("with", {}).get("command") == "up"]
        assert step["with"]["stack-name"] == "${{ env.STACK }}"
    groups = [job["concurrency"]["group"] for _, _, job in jobs]
    assert len(set(groups)) == len(groups), groups


def test_prod_is_updated_after_dev_and_everything_after_the_tests():
    jobs = {job_stacks(job)[0]: (job_id, job) for _, job_id, job in up_jobs()}
    workflow = load(WORKFLOWS_DIR / "deploy.yml")
    assert workflow["jobs"]["test"]["uses"] == "./.github/workflows/test.yml"
    assert jobs["dev"][1]["needs"] == "test"
    assert jobs["prod"][1]["needs"] == jobs["dev"][0]


def test_up_jobs_run_identical_steps():
    """Written out per job for readability; this keeps them from drifting apart."""
    steps = [yaml.safe_dump(job["steps"]) for _, _, job in up_jobs()]
    assert len(set(steps)) == 1


def test_pulumi_steps_get_the_issuer_token_and_backend_from_secrets():
    for file, job_id, job in preview_jobs() + up_jobs():
        for step in steps_using(job, PULUMI_ACTION):
            if not (step.get("with") or {}).get("command"):
                continue
            env = step["env"]
            # The program's GitHub provider reads GITHUB_TOKEN: a token with
            # contents: write on the issuer repository, not the workflow's own.
            assert env["GITHUB_TOKEN"] == "${{ secrets.ISSUER_GITHUB_TOKEN }}", f"{file}:{job_id}"
            assert env["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"
            assert env["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}"
            assert step["with"]["cloud-url"] == "${{ secrets.PULUMI_BACKEND_URL }}"
        # The venv that Pulumi.yaml names is made before the program runs.
        runs = [s.get("run", "").strip() for s in job["steps"]]
        assert "pulumi install" in runs, f"{file}:{job_id}"


def test_the_test_workflow_runs_the_ci_script_on_pull_requests():
    workflow = load(WORKFLOWS_DIR / "test.yml")
    assert {"pull_request", "workflow_call"} <= set(triggers(workflow))
    runs = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any(r.strip() == "bash .ci/run" for r in runs), runs


def test_actions_are_pinned_to_a_version():
    pinned = re.compile(r"^[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")
    for file, job_id, job in all_jobs():
        uses = [job["uses"]] if "uses" in job else [s["uses"] for s in job.get("steps", []) if "uses" in s]
        for ref in uses:
            if ref.startswith("./"):
                continue
            assert pinned.match(ref), f"{file}:{job_id}: {ref} is not pinned to a version tag or commit"


def test_checkouts_do_not_keep_the_token():
    for file, job_id, job in all_jobs():
        for step in steps_using(job, "actions/checkout"):
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{file}:{job_id}"


def test_every_pulumi_step_pins_a_cli_that_validates_object_config():
    """Object-typed config values are validated only from CLI 3.187.0 (3.186 refuses every
    serviceAccounts entry), so each workflow pins a CLI at least that new."""
    pinned = []
    for path in WORKFLOWS:
        workflow = load(path)
        for job_id, job in (workflow.get("jobs") or {}).items():
            for step in steps_using(job, "pulumi/actions"):
                version = (step.get("with") or {}).get("pulumi-version")
                assert version, f"{path.name} {job_id}: pulumi/actions without pulumi-version"
                if version == "${{ env.PULUMI_VERSION }}":
                    version = {**(workflow.get("env") or {}), **(job.get("env") or {})}["PULUMI_VERSION"]
                assert re.fullmatch(r"\d+\.\d+\.\d+", str(version)), version
                major, minor, _ = (int(x) for x in str(version).split("."))
                assert (major, minor) >= (3, 187), f"{path.name} {job_id}: CLI {version} is older than 3.187"
                pinned.append(version)
    assert pinned, "no pulumi/actions step found"
