"""What Codabench's version 2 unpacker requires of a bundle, checked before the bundle is written.

Codabench reads ``competition.yaml`` at the root of the uploaded zip; with ``version: 2`` its
unpacker requires (and fails the upload without): a logo file named by ``image``; every page file
of ``pages`` present and non-empty; a non-empty ``terms`` file; ``tasks``, each with a unique
``index`` and a ``scoring_program``, every data folder it names present; ``phases``, each with
``tasks`` that name task indexes, in sequence (a phase followed by another must end, and the next
one must start after it ends); and ``leaderboards``. Every phase shows the first leaderboard. The
scoring program's folder holds ``metadata.yaml`` whose ``command`` the worker splits on spaces
(no shell) and runs in ``/app/program``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import yaml

SORTINGS = ("asc", "desc")


def check_competition(doc: Mapping[str, Any], exists: Callable[[str], bool], read: Callable[[str], bytes]) -> list[str]:
    """Every problem that would make the upload fail (empty: none). ``exists``/``read`` see the bundle's files."""
    problems: list[str] = []
    if doc.get("version") != 2:
        problems.append("version: must be 2 (a Codabench bundle)")
    if not isinstance(doc.get("title"), str) or not doc.get("title"):
        problems.append("title: missing")
    for key in ("image", "terms"):
        if not isinstance(doc.get(key), str) or not exists(doc[key]):
            problems.append(f"{key}: no such file in the bundle: {doc.get(key)!r}")
        elif key == "terms" and not read(doc[key]).strip():
            problems.append(f"terms: {doc[key]} is empty")
    for k, page in enumerate(doc.get("pages") or []):
        name = page.get("file") if isinstance(page, Mapping) else None
        if not isinstance(name, str) or not exists(name):
            problems.append(f"pages[{k}]: no such file in the bundle: {name!r}")
        elif not read(name).strip():
            problems.append(f"pages[{k}]: {name} is empty")
    tasks = doc.get("tasks")
    indexes: set[Any] = set()
    if not isinstance(tasks, list) or not tasks:
        problems.append("tasks: none listed")
        tasks = []
    for task in tasks:
        index = task.get("index")
        if index is None:
            problems.append(f"tasks: no index for task {task.get('name')!r}")
        elif index in indexes:
            problems.append(f"tasks: duplicate index {index}")
        indexes.add(index)
        if "scoring_program" not in task:
            problems.append(f"tasks[{index}]: no scoring_program")
        for kind in ("scoring_program", "reference_data", "input_data", "ingestion_program"):
            if kind in task and not exists(task[kind] + "/"):
                problems.append(f"tasks[{index}].{kind}: no such folder in the bundle: {task[kind]!r}")
        program = task.get("scoring_program")
        if isinstance(program, str) and exists(program + "/"):
            problems += _check_metadata(program, exists, read)
    phases = doc.get("phases")
    if not isinstance(phases, list) or not phases:
        problems.append("phases: none listed")
        phases = []
    ordered = sorted(phases, key=lambda p: p.get("index", 0))
    for phase in ordered:
        name = phase.get("name", phase.get("index"))
        if not phase.get("tasks"):
            problems.append(f"phases[{name}]: must list at least one task")
        for t in phase.get("tasks") or []:
            if t not in indexes:
                problems.append(f"phases[{name}]: task {t} is not a task index")
        for kind in ("starting_kit", "public_data"):
            if kind in phase and not exists(phase[kind] + "/"):
                problems.append(f"phases[{name}].{kind}: no such folder in the bundle: {phase[kind]!r}")
        if not isinstance(phase.get("start"), (str, dt.date)):
            problems.append(f"phases[{name}]: no start date")
    for before, after in itertools.pairwise(ordered):
        end, start = _date(before.get("end")), _date(after.get("start"))
        if end is None:
            problems.append(f"phases[{before.get('name')}]: needs an end date, a phase follows it")
        elif start is None or start <= end:
            problems.append(f"phases[{after.get('name')}]: must start after phases[{before.get('name')}] ends")
    boards = doc.get("leaderboards")
    if not isinstance(boards, list) or not boards:
        problems.append("leaderboards: none listed")
        boards = []
    for board in boards:
        columns = board.get("columns") or []
        if not board.get("key") or not board.get("title") or not columns:
            problems.append("leaderboards: each needs a title, a key and columns")
        keys = [c.get("key") for c in columns]
        if len(set(keys)) != len(keys) or not all(keys):
            problems.append(f"leaderboards[{board.get('key')}]: column keys must be present and unique")
        for c in columns:
            if c.get("sorting") not in SORTINGS or not isinstance(c.get("index"), int) or not c.get("title"):
                problems.append(f"leaderboards[{board.get('key')}].{c.get('key')}: needs title, index and sorting")
    return problems


def _check_metadata(program: str, exists: Callable[[str], bool], read: Callable[[str], bytes]) -> list[str]:
    name = f"{program}/metadata.yaml"
    if not exists(name):
        return [f"{program}: no metadata.yaml (the worker needs its command)"]
    meta = yaml.safe_load(read(name))
    command = meta.get("command") if isinstance(meta, Mapping) else None
    if not isinstance(command, str) or not command.strip():
        return [f"{name}: no command"]
    if any(c in command for c in "\"'|;&$<>`") or "  " in command:
        return [f"{name}: the worker splits the command on single spaces, with no shell: {command!r}"]
    return []


def _date(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return dt.datetime.strptime(str(value), "%Y-%m-%d")
