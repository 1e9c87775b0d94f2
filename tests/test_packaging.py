"""The container's install path, without a Docker engine: the hash-pinned lock file installs
into a fresh venv exactly as the Dockerfile does, and the result runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(requirement: str) -> str:
    """The normalised project name of a requirement string."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match is not None
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def test_lock_pins_every_runtime_dependency_with_hashes() -> None:
    """Every dependency in pyproject.toml is pinned (==) with hashes in requirements.lock."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {_name(line): line for line in lock.splitlines() if "==" in line}
    for requirement in project["project"]["dependencies"]:
        assert _name(requirement) in pinned, f"{requirement} is not in requirements.lock"
    blocks = re.split(r"\n(?=\S)", lock)
    for block in blocks:
        if "==" in block:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_lock_installs_with_require_hashes_and_runs(tmp_path: Path) -> None:
    """As in the image: pip --require-hashes from the lock, the project without deps, --version."""
    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-cache-dir", "install"]
    locked = subprocess.run(
        [*pip, "--require-hashes", "--no-deps", "-r", str(ROOT / "requirements.lock")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert locked.returncode == 0, locked.stderr[-2000:]
    # What the Dockerfile copies, and nothing else (no build/ or egg-info left by a dev install).
    source = tmp_path / "src"
    shutil.copytree(
        ROOT / "worker", source / "worker", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    project = subprocess.run(
        [*pip, "--no-deps", str(source)], capture_output=True, text=True, check=False
    )
    assert project.returncode == 0, project.stderr[-2000:]
    check = subprocess.run(
        [str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout
    version = subprocess.run(
        [str(env_dir / "bin" / "thumbsweep"), "--version"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("thumbsweep ")
    # Every module of the source tree is in the installed package (a sub-package left out of
    # the packaging would fail here), imported from outside the source tree.
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "worker").rglob("*.py")
        if path.name != "__main__.py"  # importing it runs the command
    )
    assert "worker.api.client" in modules
    importer = "import importlib, sys\nfor name in sys.argv[1:]: importlib.import_module(name)"
    imported = subprocess.run(
        [str(python), "-c", importer, *modules],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr[-2000:]
