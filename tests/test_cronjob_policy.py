"""The CronJob's exit-code policy: Kubernetes retries a run only when thumbsweep says a later
--resume can make progress (exit 1), and fails the Job on every code that needs a person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # pyyaml (from kubernetes-validate) has no stubs

from worker.errors import ExitCode

CRONJOB = Path(__file__).parent.parent / "deploy" / "k8s" / "cronjob.yaml"


def _cronjob() -> dict[str, Any]:
    """The CronJob document of the manifest."""
    documents = list(yaml.safe_load_all(CRONJOB.read_text()))
    return next(doc for doc in documents if doc["kind"] == "CronJob")


def _action_for(job_spec: dict[str, Any], exit_code: int) -> str:
    """What the Job's podFailurePolicy does with a container exiting `exit_code` (first rule
    that matches wins; none matching counts towards backoffLimit, i.e. a retry)."""
    for rule in job_spec["podFailurePolicy"]["rules"]:
        codes = rule.get("onExitCodes")
        if codes is None:
            continue
        inside = exit_code in codes["values"]
        if inside == (codes["operator"] == "In"):
            return str(rule["action"])
    return "Count"


def test_only_exit_1_is_retried_by_kubernetes() -> None:
    """Exit 1 is retried (Count); 2, 3, 4, 70, 74 and 75 fail the Job at once."""
    job = _cronjob()["spec"]["jobTemplate"]["spec"]
    assert _action_for(job, ExitCode.INCOMPLETE) == "Count"
    for code in (2, 3, ExitCode.NEEDS_PERSON, 70, 74, 75):
        assert _action_for(job, code) == "FailJob", code
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_cronjob_has_a_time_zone_and_machine_readable_output() -> None:
    """The schedule has a time zone, logs are JSON and a metrics file is written."""
    cronjob = _cronjob()
    assert cronjob["spec"]["timeZone"] == "Asia/Seoul"
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    assert args[args.index("--log-format") + 1] == "json"
    assert args[args.index("--metrics-file") + 1].startswith("/data/")
