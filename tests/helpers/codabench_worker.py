"""A Codabench compute worker, emulated: the same folders, the same unpacking, the same command.

What the worker does (codalab/codabench ``compute_worker.py``), reproduced here:

- the scoring program's zip is unpacked into ``program/`` (the folder holding ``metadata.yaml``
  becomes the root), the task's reference data into ``input/ref/``;
- a results-only submission has no ``metadata.yaml``: its zip is unpacked (``ZipFile.extractall``),
  the folder of the first member whose name has a ``/`` is moved up one level (the worker's
  "parent folder" rule), and the result is copied to the prediction output, beside a ``metadata``
  file the worker writes there; that output becomes the scoring step's ``input/res/``. (A member
  named ``../x`` would make the real worker move the folder *above* its unpack folder, which fails
  there; the emulation leaves such a zip unflattened, so that amr-bench's own refusal is tested.)
- the command of ``metadata.yaml`` is split on single spaces (no shell) and run in ``/app/program``
  with ``/app/program``, ``/app/input`` and ``/app/output`` mounted; here ``/app`` is a temporary
  folder, so ``/app/`` in the command is replaced by that folder;
- ``output/scores.json`` is read; no such file fails the submission.

The image is a fresh virtual environment of this Python (``python:X.Y-slim`` has Python and pip and
nothing else), and the command runs without network (``unshare -n``) when the kernel allows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass
class WorkerRun:
    returncode: int
    log: str  # stdout and stderr, as the scoring log shows them
    output: Path
    root: Path


def fresh_image(folder: Path) -> Path:
    """A virtual environment with only Python and pip (the stock image); returns its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    return folder / "bin"


def no_network_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def unpack_task(bundle: Path, root: Path, task: int = 0) -> dict:
    """The bundle's task ``task`` as the worker lays it out under ``root``; returns the competition yaml."""
    with zipfile.ZipFile(bundle) as z:
        doc = yaml.safe_load(z.read("competition.yaml"))
        spec = next(t for t in doc["tasks"] if t["index"] == task)
        for kind, dest in (("scoring_program", "program"), ("reference_data", "input/ref")):
            prefix = spec[kind] + "/"
            for name in z.namelist():
                if name.startswith(prefix) and not name.endswith("/"):
                    target = root / dest / name[len(prefix) :]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(z.read(name))
    (root / "output").mkdir(parents=True, exist_ok=True)
    return doc


def submit(root: Path, submission_zip: Path) -> None:
    """A results submission's way to ``input/res``: extractall, then the worker's ``metadata`` file."""
    res = root / "input" / "res"
    shutil.rmtree(res, ignore_errors=True)
    res.mkdir(parents=True)
    with zipfile.ZipFile(submission_zip) as z:
        z.extractall(res)
        parent = next((n.split("/")[0] for n in z.namelist() if "/" in n), "")
    if parent and parent != ".." and (res / parent).is_dir():
        for item in list((res / parent).iterdir()):
            item.rename(res / item.name)
        (res / parent).rmdir()
    (res / "metadata").write_text("exitCode: null\nelapsedTime: 0.1\n")
    out = root / "output"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()


def run_scoring(root: Path, image_bin: Path, timeout: float = 600) -> WorkerRun:
    meta = yaml.safe_load((root / "program" / "metadata.yaml").read_text())
    command = meta["command"].replace("/app/", str(root) + "/").split(" ")
    env = {
        "PATH": f"{image_bin}:/usr/bin:/bin",
        "PYTHONUNBUFFERED": "1",
        "HOME": str(root),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
    }
    done = subprocess.run(
        [*no_network_prefix(), *command],
        cwd=root / "program",
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return WorkerRun(done.returncode, done.stdout + done.stderr, root / "output", root)
