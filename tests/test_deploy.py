"""The deploy files and the README's container and Kubernetes steps agree: what an operator runs
(the Secret, the helper pod, the re-run of one index, `docker run`) matches what the manifests and
the Dockerfile expect."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # pyyaml (from kubernetes-validate) has no stubs

from worker.errors import ExitCode
from worker.input.sharding import Shard
from worker.settings import load_settings

ROOT = Path(__file__).parent.parent
K8S = ROOT / "deploy" / "k8s"
README = (ROOT / "README.md").read_text()


def _documents(name: str) -> list[dict[str, Any]]:
    """Every YAML document of one manifest under deploy/k8s."""
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def _one(name: str, kind: str) -> dict[str, Any]:
    """The single document of `kind` in a manifest."""
    (document,) = (doc for doc in _documents(name) if doc["kind"] == kind)
    return document


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod, Job or CronJob."""
    spec: dict[str, Any] = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    if workload["kind"] != "Pod":
        spec = spec["template"]["spec"]
    return spec


def _container(workload: dict[str, Any]) -> dict[str, Any]:
    """The thumbsweep container of a workload."""
    containers: list[dict[str, Any]] = _pod_spec(workload)["containers"]
    return next(c for c in containers if c["name"] == "thumbsweep")


def _readme_commands(program: str) -> list[list[str]]:
    """Every command of the README's shell blocks that starts with `program` (lines joined)."""
    blocks = re.findall(r"```(?:sh|console)\n(.*?)```", README, flags=re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == [program]:
                commands.append(words)
    return commands


def _flag_values(command: list[str], flag: str) -> list[str]:
    """The values given to `flag` in a command, as `--flag=V` or `--flag V`."""
    values = [word.split("=", 1)[1] for word in command if word.startswith(flag + "=")]
    values += [command[i + 1] for i, word in enumerate(command[:-1]) if word == flag]
    return values


def _action_for(rules: list[dict[str, Any]], exit_code: int) -> str:
    """What a podFailurePolicy does with a container exiting `exit_code` (first match wins;
    no match counts towards the backoff limit, i.e. a retry)."""
    for rule in rules:
        codes = rule.get("onExitCodes")
        if codes is not None and (exit_code in codes["values"]) == (codes["operator"] == "In"):
            return str(rule["action"])
    return "Count"


def test_readme_creates_the_secret_every_manifest_reads() -> None:
    """README's `kubectl create secret generic` makes the Secret and keys the manifests use."""
    created: set[tuple[str, str]] = set()
    for command in _readme_commands("kubectl"):
        if command[1:4] == ["create", "secret", "generic"]:
            keys = _flag_values(command, "--from-file") + _flag_values(command, "--from-literal")
            created |= {(command[4], key.split("=", 1)[0]) for key in keys}
    for name in ("cronjob.yaml", "indexed-job.yaml", "rerun-shard-job.yaml"):
        for document in _documents(name):
            if document["kind"] not in ("CronJob", "Job"):
                continue
            for variable in _container(document).get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    assert (ref["name"], ref["key"]) in created, (name, ref)
    assert "--from-literal" not in (K8S / "cronjob.yaml").read_text()


def test_readme_copies_the_manifest_where_the_cronjob_reads_it() -> None:
    """`kubectl cp` goes through the helper pod, which mounts the CronJob's claim at its path."""
    cronjob = _one("cronjob.yaml", "CronJob")
    helper = _one("data-shell.yaml", "Pod")
    claim = _pod_spec(cronjob)["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert _pod_spec(helper)["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim
    assert _container(helper)["volumeMounts"] == _container(cronjob)["volumeMounts"]
    # The helper writes as the user thumbsweep runs as, so the run can append to what it copied.
    assert _pod_spec(helper)["securityContext"] == _pod_spec(cronjob)["securityContext"]
    manifest = _container(cronjob)["args"][1]
    targets = [c[-1] for c in _readme_commands("kubectl") if c[1] == "cp"]
    assert f"{helper['metadata']['name']}:{manifest}" in targets, targets


def test_readme_rotation_archives_every_file_the_cronjob_writes() -> None:
    """The ledger rotation moves the CronJob's manifest, ledger and failed-out file together."""
    args = _container(_one("cronjob.yaml", "CronJob"))["args"]
    files = {args[1], *(args[args.index(flag) + 1] for flag in ("--ledger", "--failed-out"))}
    moves = [c for c in _readme_commands("kubectl") if "mv" in c]
    assert any(files <= set(command) for command in moves), moves


def test_indexed_job_fails_an_index_on_codes_a_retry_cannot_fix() -> None:
    """Each index retries exit 1 only; 2, 3, 4, 70, 74, 75 fail that index, not the others."""
    job = _one("indexed-job.yaml", "Job")
    assert job["spec"]["completionMode"] == "Indexed"
    rules = job["spec"]["podFailurePolicy"]["rules"]
    assert _action_for(rules, ExitCode.INCOMPLETE) == "Count"
    for code in (2, 3, ExitCode.NEEDS_PERSON, 70, 74, 75, 143):
        assert _action_for(rules, code) == "FailIndex", code
    claim = _pod_spec(job)["volumes"][0]["persistentVolumeClaim"]["claimName"]
    pvc = next(d for d in _documents("indexed-job.yaml") if d["kind"] == "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == claim
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]  # every index mounts it at once


def test_rerun_job_resumes_the_ledger_of_the_index_it_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one-index re-run reads the same manifest and appends to that index's own ledger."""
    indexed = _container(_one("indexed-job.yaml", "Job"))
    rerun = _container(_one("rerun-shard-job.yaml", "Job"))
    assert rerun["args"] == indexed["args"]
    count = next(v["value"] for v in indexed["env"] if v["name"] == "THUMBSWEEP_SHARD_COUNT")
    for variable in rerun["env"]:
        if "value" in variable:
            monkeypatch.setenv(variable["name"], variable["value"])
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    shard = load_settings({}, None).shard_spec
    assert shard is not None
    assert shard.count == int(count)
    ledger = Path(rerun["args"][rerun["args"].index("--ledger") + 1])
    indexed_ledger = Shard(shard.index, int(count)).ledger_path(ledger)
    assert shard.ledger_path(ledger) == indexed_ledger
    assert "--resume" in rerun["args"]


def test_dockerfile_base_image_is_one_build_argument() -> None:
    """Both stages build FROM ${PYTHON_IMAGE}, python:3.11-slim unless pinned by digest."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", dockerfile, flags=re.MULTILINE)
    froms = re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE)
    assert froms == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert "--build-arg PYTHON_IMAGE=python:3.11-slim@sha256:" in README


def test_readme_docker_run_writes_a_host_directory_as_the_image_user() -> None:
    """`docker run` mounts the image's VOLUME and runs as the caller, or the README chowns to
    the image's user: the host directory is writable either way."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\d+):(\d+)$", dockerfile, flags=re.MULTILINE)[-1]
    workdir = re.findall(r"^WORKDIR (\S+)$", dockerfile, flags=re.MULTILINE)[-1]
    assert re.search(rf'^VOLUME \["{workdir}"\]$', dockerfile, flags=re.MULTILINE)
    runs = [c for c in _readme_commands("docker") if c[1] == "run"]
    assert runs
    for run in runs:
        assert any(v.endswith(":" + workdir) for v in _flag_values(run, "-v")), run
    assert any(_flag_values(run, "--user") == ["$(id -u):$(id -g)"] for run in runs)
    chowns = [c for c in _readme_commands("sudo") + _readme_commands("chown") if "chown" in c]
    assert any(":".join(user) in command for command in chowns), chowns
