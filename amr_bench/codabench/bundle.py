"""Write a Codabench competition bundle (``competition.yaml`` version 2) that scores with amr-bench.

Layout of the zip::

    competition.yaml          version 2: pages, tasks, phases, one leaderboard
    logo.png
    pages/                    overview.md, evaluation.md, data.md, terms.md (see amr_bench.codabench.pages)
    scoring_program/          metadata.yaml (its command), score.py, wheels/ (amr-bench and its dependencies)
    reference_data_<k>/       ground_truth.jsonl (hidden from participants) and benchmark.json
    starting_kit_<k>/         README.md, example_submission.zip (valid), broken_submission.zip

One task and one phase per benchmark. Codabench's workers have no guaranteed internet, so the
scoring program installs amr-bench from the wheels the bundle carries (``pip install --no-index``)
into the stock ``python:X.Y-slim`` image: nothing to build or push, and the scorer is the exact
amr-bench version that wrote the bundle. Codabench runs phases one after another (its unpacker
rejects overlapping phases), so with several benchmarks every phase but the last has an end date.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from amr_bench import __version__
from amr_bench.codabench import pages
from amr_bench.codabench.competition import check_competition
from amr_bench.codabench.worker import LEADERBOARD, REF_GT, REF_INFO, Found, score_submission
from amr_bench.errors import UsageError

PROGRAM = "scoring_program"
COMMAND = "python3 /app/program/score.py /app/input /app/output"
DEFAULT_PYTHON = "3.12"
WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
EXAMPLE = "example_submission.zip"
BROKEN = "broken_submission.zip"

BOOTSTRAP = '''"""amr-bench {version}: the scoring program of a bundle written by `amr-bench codabench bundle`.

Installs amr-bench from the wheels beside this file (no network), then validates and scores the
submission in INPUT_DIR/res against INPUT_DIR/ref and writes OUTPUT_DIR/scores.json and
OUTPUT_DIR/detailed_results.html (amr_bench.codabench.worker).
"""

import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    target = tempfile.mkdtemp(prefix="amr-bench-site-")
    install = [
        sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-cache-dir",
        "--disable-pip-version-check", "--no-compile", "--find-links", str(HERE / "wheels"), "--target", target,
        "amr-bench=={version}",
    ]
    if subprocess.run(install).returncode != 0:
        print("error: could not install amr-bench {version} from the bundled wheels", file=sys.stderr)
        return 1
    sys.path.insert(0, target)
    from amr_bench.codabench.worker import main as score

    return score(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
'''


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    gt_path: Path
    example: Path | None = None  # a valid example submission; None: the prior-only control
    baselines: tuple[Path, ...] = ()  # the organisers' baseline runs, scored onto the evaluation page


@dataclass(frozen=True)
class BundleOptions:
    title: str = "Language-based audio moment retrieval (DCASE 2026 Task 6): evaluation server"
    python: str = DEFAULT_PYTHON
    start: dt.date | None = None  # None: today (UTC)
    days_per_phase: int = 365  # phases before the last (Codabench runs phases in sequence)
    max_submissions_per_day: int = 5
    max_submissions: int = 100
    resamples: int = 1000
    seed: int = 0
    execution_time_limit: int = 600  # seconds


@dataclass
class Written:
    path: Path
    files: list[str]
    examples: dict[str, dict[str, float]]  # benchmark -> the example's leaderboard scores


def check_wheels(folder: Path, python: str) -> list[Path]:
    """The wheels to bundle: amr-bench's own (this version) among them, none for another Python."""
    if not folder.is_dir():
        what = "not a folder" if folder.exists() else "no such folder"
        raise UsageError(f"--wheels {folder}: {what}" + _WHEELS_HINT.format(python=python))
    wheels = sorted(folder.glob("*.whl"))
    ours = [w for w in wheels if w.name.startswith(f"amr_bench-{__version__}-")]
    if not ours:
        raise UsageError(
            f"--wheels {folder}: no amr_bench-{__version__}-*.whl (the scorer must be this version)"
            + _WHEELS_HINT.format(python=python)
        )
    tag = "cp" + python.replace(".", "")
    wrong = []
    for w in wheels:
        m = WHEEL_NAME.match(w.name)
        if m is None:
            wrong.append(f"{w.name} (not a wheel file name)")
            continue
        pys = m["py"].split(".")
        if not any(p in ("py3", tag) or p.startswith("py3") for p in pys) and m["abi"] != "abi3":
            wrong.append(f"{w.name} (built for {m['py']}, the image runs Python {python})")
        elif not any(m["plat"].startswith(p) for p in ("any", "manylinux", "musllinux", "linux")):
            wrong.append(f"{w.name} (platform {m['plat']}, the workers run Linux)")
    if wrong:
        raise UsageError(f"--wheels {folder}: wheels the image cannot install: " + "; ".join(wrong))
    return wheels


# one line: messages reach the terminal escaped (amr_bench.terminal), so a line break would show as \x0a
_WHEELS_HINT = (
    "; fill it with amr-bench's wheel and its dependencies for the image's Python (docs/codabench.md), e.g. "
    "`pip wheel --no-deps -w wheels .` in a checkout of amr-bench " + __version__ + ", then "
    "`pip download -d wheels --only-binary=:all: --python-version {python} --platform manylinux2014_x86_64 "
    "--implementation cp numpy scipy pandas jsonschema jinja2 typer orjson pyyaml threadpoolctl`"
)


def build_bundle(
    specs: Sequence[BenchmarkSpec], wheels: Path, out: Path, options: BundleOptions = BundleOptions()
) -> Written:
    """Write the bundle zip to ``out`` (atomically); raises ``UsageError``/``InputError`` on bad input."""
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.names import check_benchmark_name
    from amr_bench.outputs import atomic_writer

    if not specs:
        raise UsageError("name at least one benchmark: --gt NAME=PATH")
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise UsageError(f"each benchmark once: {', '.join(names)}")
    wheel_files = check_wheels(wheels, options.python)
    files: dict[str, bytes] = {}
    infos: list[pages.BenchmarkPage] = []
    examples: dict[str, dict[str, float]] = {}
    for k, spec in enumerate(specs):
        check_benchmark_name(spec.name, "--gt NAME=PATH: the benchmark name")
        gt = load_ground_truth(spec.gt_path)
        if not gt.has_windows:
            raise UsageError(
                f"--gt {spec.name}={spec.gt_path}: no relevant_windows (a blind query list): "
                "the bundle needs the ground truth the organisers hold"
            )
        example_bytes, label = _example(spec, gt)
        scored = score_submission(
            Found("example.jsonl", data=example_bytes), gt, spec.name, options.resamples, options.seed
        )
        examples[spec.name] = scored.scores
        files[f"reference_data_{k}/{REF_GT}"] = spec.gt_path.read_bytes()
        files[f"reference_data_{k}/{REF_INFO}"] = _json(
            {"benchmark": spec.name, "resamples": options.resamples, "seed": options.seed, "amr_bench": __version__}
        )
        kit = f"starting_kit_{k}"
        files[f"{kit}/{EXAMPLE}"] = _zip({"submission.jsonl": example_bytes})
        files[f"{kit}/{BROKEN}"] = _zip({"submission.jsonl": broken_submission(example_bytes)})
        files[f"{kit}/README.md"] = _kit_readme(spec.name, label, scored.scores).encode()
        runs = tuple(
            (f"baseline {path.name}", score_submission(Found(path.name, data=path.read_bytes()), gt, spec.name).scores)
            for path in spec.baselines
        )
        infos.append(
            pages.BenchmarkPage(
                spec.name, len(gt.qids), len(set(gt.vids)), scored.scores, label, _matching_split(gt), runs
            )
        )
    files["pages/overview.md"] = pages.overview(options.title, infos).encode()
    files["pages/evaluation.md"] = pages.evaluation(infos, options.resamples, options.seed).encode()
    files["pages/data.md"] = pages.data(infos).encode()
    files["pages/terms.md"] = pages.terms(options.title).encode()
    files["logo.png"] = logo_png()
    files[f"{PROGRAM}/metadata.yaml"] = yaml.safe_dump({"command": COMMAND}, sort_keys=False).encode()
    files[f"{PROGRAM}/score.py"] = BOOTSTRAP.format(version=__version__).encode()
    for w in wheel_files:
        files[f"{PROGRAM}/wheels/{w.name}"] = w.read_bytes()
    doc = competition_yaml(specs, options)
    files["competition.yaml"] = (
        "# Written by amr-bench "
        + __version__
        + " (amr-bench codabench bundle)\n"
        + yaml.safe_dump(doc, sort_keys=False)
    ).encode()
    problems = check_competition(doc, _exists(files), lambda n: files[n])
    if problems:  # a bug in this module, never the user's input
        raise AssertionError("the bundle would not unpack: " + "; ".join(problems))
    with atomic_writer(out, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if name.endswith((".whl", ".zip")) else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, files[name])
    return Written(out, sorted(files), examples)


def competition_yaml(specs: Sequence[BenchmarkSpec], options: BundleOptions) -> dict[str, Any]:
    start = options.start or dt.datetime.now(dt.timezone.utc).date()
    tasks, phases = [], []
    for k, spec in enumerate(specs):
        tasks.append(
            {
                "index": k,
                "name": spec.name,
                "description": f"{spec.name}: validated and scored by amr-bench {__version__}",
                "scoring_program": PROGRAM,
                "reference_data": f"reference_data_{k}",
            }
        )
        phase_start = start + dt.timedelta(days=k * (options.days_per_phase + 1))
        phase: dict[str, Any] = {
            "index": k,
            "name": spec.name,
            "description": f"Submit a zip holding one .jsonl for {spec.name} (see Data).",
            "start": phase_start.isoformat(),
            "end": None,
            "max_submissions_per_day": options.max_submissions_per_day,
            "max_submissions": options.max_submissions,
            "execution_time_limit": options.execution_time_limit,
            "tasks": [k],
            "starting_kit": f"starting_kit_{k}",
        }
        if k < len(specs) - 1:
            phase["end"] = (phase_start + dt.timedelta(days=options.days_per_phase)).isoformat()
        phases.append(phase)
    return {
        "version": 2,
        "title": options.title,
        "description": (
            "Audio moment retrieval: R1@0.7, R1@0.5 and mAP, scored by amr-bench (the official scorer's numbers)."
        ),
        "image": "logo.png",
        "docker_image": f"python:{options.python}-slim",
        "registration_auto_approve": True,
        "enable_detailed_results": True,
        "show_detailed_results_in_submission_panel": True,
        "show_detailed_results_in_leaderboard": True,
        "make_programs_available": False,
        "make_input_data_available": False,
        "terms": "pages/terms.md",
        "pages": [
            {"title": "Overview", "file": "pages/overview.md"},
            {"title": "Evaluation", "file": "pages/evaluation.md"},
            {"title": "Data", "file": "pages/data.md"},
        ],
        "tasks": tasks,
        "solutions": [],
        "phases": phases,
        "leaderboards": [
            {
                "index": 0,
                "title": "Results",
                "key": "main",
                "primary_index": 0,
                "columns": [
                    {
                        "title": c.title,
                        "key": c.key,
                        "index": i,
                        "sorting": "desc",
                        "computation": None,
                        "computation_indexes": None,
                    }
                    for i, c in enumerate(LEADERBOARD)
                ],
            }
        ],
    }


EXAMPLES_GROUP = "amr_bench.example_submissions"


def _example(spec: BenchmarkSpec, gt: Any) -> tuple[bytes, str]:
    """``--example``'s file, or the first function of the ``amr_bench.example_submissions`` entry
    point group (the baselines register the prior-only control there)."""
    if spec.example is not None:
        return spec.example.read_bytes(), f"example ({spec.example.name})"
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=EXAMPLES_GROUP), key=lambda e: e.name)
    if not found:
        raise UsageError(
            f"no example submission for {spec.name}: give --example {spec.name}=FILE "
            "(or install amr-bench with its baselines, which provide the prior-only control)"
        )
    records, label = found[0].load()(gt)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return text.encode(), str(label)


def broken_submission(example: bytes) -> bytes:
    """The example with the mistakes teams make: a missing query, start >= end, a truncated line, a duplicate qid."""
    out = example.decode().splitlines()[1:]  # the first query is missing
    first = json.loads(out[0])
    first["pred_relevant_windows"][0][:2] = [30.0, 20.0]
    out[0] = json.dumps(first)
    out[4] = out[4][: len(out[4]) // 2]  # a truncated line
    out.append(out[1])  # a duplicate qid
    return ("\n".join(out) + "\n").encode()


def _kit_readme(name: str, label: str, scores: dict[str, float]) -> str:
    shown = ", ".join(f"{c.title} {scores[c.key]:.2f}" for c in LEADERBOARD[:3])
    return (
        f"# Starting kit: {name}\n\n"
        f"- `{EXAMPLE}`: a valid submission, the {label}: submit it as it is; it scores {shown}.\n"
        f"- `{BROKEN}`: the same file with typical mistakes (a missing query, a duplicate qid, a window "
        "with start >= end, a truncated line): the server fails it and lists each problem as FILE:LINE.\n\n"
        "Check a file before submitting: `amr-bench validate submission.jsonl` (pip install amr-bench).\n"
    )


def _matching_split(gt: Any) -> str | None:
    """The bundled query list with exactly the ground truth's qids (dcase2026/eval for the DCASE eval set)."""
    from amr_bench.datasets.registry import splits
    from amr_bench.groundtruth import load_ground_truth

    qids = set(gt.qids)
    for entry in splits():
        if entry.queries == len(qids) and not entry.has_windows and set(load_ground_truth(entry.name).qids) == qids:
            return str(entry.name)
    return None


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2) + "\n").encode()


def _exists(files: dict[str, bytes]) -> Callable[[str], bool]:
    return lambda name: name in files or (name.endswith("/") and any(f.startswith(name) for f in files))


def logo_png(size: int = 96) -> bytes:
    """A small PNG (a waveform in the site's colours), written without an image library."""
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            amp = abs(((x * 7) % 23) - 11) / 11 * (0.25 + 0.7 * ((x // 12) % 3) / 2)
            on = abs(y - size / 2) <= amp * size / 2.4
            row += bytes((217, 95, 2) if on else (29, 35, 48))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    head = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", head) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
