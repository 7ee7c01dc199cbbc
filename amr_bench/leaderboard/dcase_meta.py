"""DCASE system labels and ``<label>.meta.yaml`` files, checked as the DCASE organisers' validator checks them.

The header is stable across DCASE 2017-2026 (``schemas/dcase_meta.schema.json``): ``submission``
(label, name, abbreviation of at most 10 characters, authors with lastname, firstname, email and
affiliation, exactly one corresponding author), ``system`` (``description``, optional
``complexity`` with an integer ``total_parameters``, ``external_datasets``, ``source_code`` as a
URL, null or empty) and ``results``. Both affiliation spellings (``institute`` from dcase_util and
most templates, ``institution`` in some 2026 templates) and a list of affiliations are accepted.

The Task 6 template itself is not published, so intake is lenient where it is unknown and says
what it assumed (notes, never errors): the task-specific keys of ``system.description``,
``system.complexity`` and ``results`` are kept as given, and reported results are read as percent
when any value exceeds 1, as fractions otherwise (see ``submissions/README.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from amr_bench.errors import Problem
from amr_bench.leaderboard import safe_yaml
from amr_bench.names import describe_refused, nfc

MAX_SYSTEMS = 4
LABEL = re.compile(
    r"^(?P<team>(?P<lastname>[^_\s/]+)_(?P<institute>[^_\s/]+))_task6(?P<subtask>[a-z]?)_(?P<number>[^_\s/]+)$"
)
LABEL_FORM = "<Lastname>_<Inst>_task6[subtask]_<1-4>"
# the closest published 2026 audio-text template's description keys (assumed for Task 6)
ASSUMED_DESCRIPTION_KEYS = (
    "input_sampling_rate",
    "audio_representation",
    "text_representation",
    "data_augmentation",
    "machine_learning_method",
    "external_data_usage",
)


@dataclass(frozen=True)
class Label:
    """A parsed system label (``Doe_UNI_task6_1``)."""

    text: str
    team: str  # <Lastname>_<Inst>
    subtask: str
    number: int

    @property
    def report_stem(self) -> str:
        """``Doe_UNI_task6``: the team's technical report is ``<stem>.technical_report.pdf``."""
        return f"{self.team}_task6{self.subtask}"


def parse_label(text: str) -> Label | str:
    """The label, or why it is not one (system numbers must be plain ASCII 1-4: ``_01`` would alias ``_1``)."""
    m = LABEL.match(text)
    if not text.isprintable() or any(0xD800 <= ord(c) < 0xE000 for c in text):
        return f"label {text!r} contains control characters or bytes that are not UTF-8"
    if not m:
        return f"label {text!r} is not of the form {LABEL_FORM}"
    number = m["number"]
    if not number.isdigit():
        return f"label {text!r}: system number {number!r} is not a number 1-{MAX_SYSTEMS}"
    if not number.isascii():
        return f"label {text!r}: system number {number!r} uses non-ASCII digits; write 1-{MAX_SYSTEMS}"
    if number != str(int(number)):
        return f"label {text!r}: system number {number!r} has a leading zero (it would alias _{int(number)})"
    if not 1 <= int(number) <= MAX_SYSTEMS:
        return f"label {text!r}: system number {number}; DCASE allows systems _1 to _{MAX_SYSTEMS}"
    return Label(text, m["team"], m["subtask"], int(number))


def numeric_position(path: safe_yaml.Path) -> bool:
    """Numbers are numbers under ``results`` and ``system/complexity``; elsewhere metadata is text as written.

    So ``location: NO``, ``duration: 1:30:00`` and ``version: 1.10`` reach the pages as the team
    wrote them, while reported scores and ``total_parameters`` stay numbers.
    """
    return bool(path) and (path[0] == "results" or tuple(path[:2]) == ("system", "complexity"))


@dataclass
class MetaCheck:
    """The parsed meta (None when it has errors), its problems and the notes on what was assumed."""

    data: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def check_meta(data: bytes, display: str, label: Label) -> MetaCheck:
    """Parse (bounded, see :mod:`safe_yaml`) and check one meta file against the label it belongs to."""
    from amr_bench.schemas import validator

    try:
        meta, node = safe_yaml.load(data, numeric=numeric_position)
    except safe_yaml.YamlProblem as exc:
        return MetaCheck(None, [Problem(display, exc.line, exc.message)])
    if not isinstance(meta, dict):
        return MetaCheck(None, [Problem(display, 1, "expected a YAML mapping with submission, system, results")])
    problems = [
        Problem(display, safe_yaml.line_of(node, list(e.absolute_path)), _schema_message(e))
        for e in sorted(validator("dcase_meta").iter_errors(meta), key=lambda e: list(map(str, e.absolute_path)))
    ]
    submission = meta.get("submission")
    submission = submission if isinstance(submission, dict) else {}
    problems += _hidden_characters(meta, display, node)
    problems += _corresponding(submission, display, node)
    got = submission.get("label")
    if isinstance(got, str) and nfc(got) != label.text:
        line = safe_yaml.line_of(node, ["submission", "label"])
        problems.append(Problem(display, line, f"submission/label is {got!r} but the file is {label.text}.meta.yaml"))
    return MetaCheck(None if problems else meta, problems, [] if problems else _notes(meta, display))


_TEXT_BREAKS = frozenset("\n\t\r")


def _hidden_characters(value: Any, display: str, node: Any, path: tuple[Any, ...] = ()) -> list[Problem]:
    """Every key and text value that holds a character a page or terminal would act on instead of
    showing (see :func:`amr_bench.names.describe_refused`: right-to-left overrides, zero-width
    characters, control characters); line breaks and tabs are allowed in values. Refused, not
    stripped: the team fixes its file, and what is stored is what they wrote."""
    problems: list[Problem] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        at = (*path, key)
        if isinstance(key, str):
            problems += _text_problem(key, at, display, node, keys=True)
        if isinstance(item, str):
            problems += _text_problem(item, at, display, node, keys=False)
        elif isinstance(item, (dict, list)):
            problems += _hidden_characters(item, display, node, at)
    return problems


def _text_problem(text: str, at: tuple[Any, ...], display: str, node: Any, keys: bool) -> list[Problem]:
    for i, ch in enumerate(text):
        if not keys and ch in _TEXT_BREAKS:
            continue
        what = describe_refused(ch)
        if what is not None:
            where = "/".join(str(p) for p in at)
            kind = "key" if keys else "value"
            message = f"{where}: the {kind} contains {what} (U+{ord(ch):04X}, character {i + 1}); remove it"
            return [Problem(display, safe_yaml.line_of(node, list(at)), message)]
    return []


def _schema_message(error: Any) -> str:
    at = "/".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "required" and "'institute'" in error.message:
        return f"{at}: an affiliation needs 'institute' (or 'institution', the 2026 spelling)"
    if error.validator == "maxLength" and at == "submission/abbreviation":
        return f"{at}: {error.instance!r} has {len(error.instance)} characters; DCASE allows at most 10"
    if error.validator == "type" and at.endswith("total_parameters"):
        return f"{at}: {error.instance!r} is not an integer (write 90000000, not '90M')"
    if error.validator == "pattern" and at.endswith("email"):
        return f"{at}: {error.instance!r} is not an e-mail address"
    return f"{at}: {error.message}"


def _corresponding(submission: dict[str, Any], display: str, node: Any) -> list[Problem]:
    authors = submission.get("authors")
    if not isinstance(authors, list) or not authors:
        return []
    flagged = [i for i, a in enumerate(authors) if isinstance(a, dict) and a.get("corresponding") is True]
    if len(flagged) == 1:
        return []
    line = safe_yaml.line_of(node, ["submission", "authors", *flagged[1:2]])
    found = "none has" if not flagged else f"{len(flagged)} have"
    return [Problem(display, line, f"submission/authors: exactly one author is corresponding: true; {found}")]


def _notes(meta: dict[str, Any], display: str) -> list[str]:
    """Information on task-specific keys and on what was assumed where the Task 6 template is unknown."""
    notes = []
    system = meta.get("system") or {}
    description = system.get("description") or {}
    extra = sorted(k for k in description if k not in ASSUMED_DESCRIPTION_KEYS)
    if extra:
        notes.append(f"{display}: note: system/description: task-specific keys kept as given: {', '.join(extra)}")
    complexity = system.get("complexity")
    if not complexity:
        notes.append(f"{display}: note: no system/complexity block (optional in some 2026 templates)")
    elif sorted(set(complexity) - {"total_parameters"}):
        keys = ", ".join(sorted(set(complexity) - {"total_parameters"}))
        notes.append(f"{display}: note: system/complexity: task-specific keys kept as given: {keys}")
    numbers = list(numbers_in(meta.get("results")))
    if numbers:
        unit = "percent (a value exceeds 1)" if max(numbers) > 1 else "fractions (no value exceeds 1)"
        notes.append(
            f"{display}: note: results: the Task 6 keys are not published; kept as given, "
            f"{len(numbers)} reported value(s) read as {unit}"
        )
    return notes


def numbers_in(value: Any) -> Iterator[float]:
    """Every number in a YAML value (nested dicts and lists), booleans left out, in document order."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from numbers_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers_in(v)


@dataclass(frozen=True)
class Author:
    name: str  # "Jane Doe"
    email: str | None
    corresponding: bool
    affiliations: list[str]  # each "Institute, Department, Location" (either spelling)


@dataclass(frozen=True)
class SystemSummary:
    """A stored DCASE meta in one shape, whatever spelling the team's template used (for pages)."""

    label: str
    name: str
    abbreviation: str
    authors: list[Author]
    description: dict[str, Any]
    complexity: dict[str, Any]
    external_datasets: list[dict[str, Any]]
    source_code: str | None
    reported_results: dict[str, Any]


def summarise(meta: dict[str, Any]) -> SystemSummary | None:
    """The page view of a meta stored by intake; None for systems that did not come from a package.

    Never raises on a stored value of an unexpected type (a store may hold metadata written by other
    code): such a block is left out of the summary.
    """
    submission = meta.get("submission")
    if not isinstance(submission, dict):
        return None
    system = _mapping(meta.get("system"))
    authors = submission.get("authors")
    datasets = system.get("external_datasets")
    code = system.get("source_code")
    code = None if isinstance(code, list) else code
    return SystemSummary(
        label=str(submission.get("label", "")),
        name=str(submission.get("name", "")),
        abbreviation=str(submission.get("abbreviation", "")),
        authors=[_author(a) for a in authors if isinstance(a, dict)] if isinstance(authors, list) else [],
        description=_mapping(system.get("description")),
        complexity=_mapping(system.get("complexity")),
        external_datasets=[d for d in datasets if _applicable(d)] if isinstance(datasets, list) else [],
        source_code=str(code) if code not in (None, "") else None,
        reported_results=_mapping(meta.get("results")),
    )


def _applicable(dataset: Any) -> bool:
    """A dataset entry with something in it (the template's ``- name: !!null`` placeholder means none)."""
    return isinstance(dataset, dict) and any(v not in (None, "", []) for v in dataset.values())


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _author(author: dict[str, Any]) -> Author:
    affiliation = author.get("affiliation")
    places = affiliation if isinstance(affiliation, list) else [affiliation]
    texts = []
    for place in places:
        if isinstance(place, dict):
            fields = (
                place.get("institute") or place.get("institution"),
                place.get("department"),
                place.get("location"),
            )
            texts.append(", ".join(str(f) for f in fields if f))
    name = " ".join(str(author.get(k)) for k in ("firstname", "lastname") if author.get(k))
    return Author(name, author.get("email"), author.get("corresponding") is True, texts)
