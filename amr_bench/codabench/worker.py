"""What the bundle's scoring program runs on a Codabench worker.

Codabench unpacks the participant's zip into ``input/res`` and the task's reference data into
``input/ref``, runs the scoring program's command and reads ``output/scores.json``; with detailed
results on, it shows ``output/detailed_results.html`` beside the submission. This module:

1. finds the submission under ``input/res``: one ``.jsonl`` file (a team's output, as it would be
   submitted to DCASE), or a DCASE package (the package's own zip, which Codabench unpacks, or that
   zip inside the submission zip) holding one system; symbolic links, special files, more than
   :data:`MAX_FILES` files or more than :data:`MAX_SUBMISSION_BYTES` bytes are refused;
2. validates and scores it with amr-bench (the same validation and the same ``FILE:LINE`` messages
   as ``amr-bench validate``; a package goes through the same checks as ``leaderboard ingest``);
3. on success writes ``scores.json`` (the leaderboard keys of :data:`LEADERBOARD`, in percent,
   rounded as the official scorer rounds) and ``detailed_results.html`` (the site's system page for
   this one submission: every metric at every θ, the length and count breakdowns and the per-query
   explorer; never the ground-truth windows); on an invalid submission it prints the problems on
   stderr (the scoring log), writes no ``scores.json`` and exits 1, so that Codabench marks it failed.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amr_bench.errors import AmrBenchError, InputError, Problem

REF_GT = "ground_truth.jsonl"
REF_INFO = "benchmark.json"
SCORES = "scores.json"
DETAILED = "detailed_results.html"
MAX_FILES = 256
MAX_SUBMISSION_BYTES = 64 << 20
IGNORED_FILES = {"metadata", ".DS_Store", "Thumbs.db"}  # ``metadata``: written by Codabench's prediction step
IGNORED_DIRS = {"__MACOSX"}
TEAM = "participant"
SYSTEM = "this submission"


@dataclass(frozen=True)
class Column:
    key: str  # the key in scores.json and in competition.yaml
    title: str
    metric: str  # the amr-bench metric (a fraction in the store)
    bound: int | None = None  # None: the value; 0 / 1: the lower / upper bound of its interval


LEADERBOARD: tuple[Column, ...] = (
    Column("r1_at_0_7", "R1@0.7", "R1@0.7"),
    Column("r1_at_0_5", "R1@0.5", "R1@0.5"),
    Column("map", "mAP", "mAP"),
    Column("r1_at_0_7_ci_low", "R1@0.7 95% CI low", "R1@0.7", 0),
    Column("r1_at_0_7_ci_high", "R1@0.7 95% CI high", "R1@0.7", 1),
)


@dataclass(frozen=True)
class Found:
    """The submission: a JSON Lines file's bytes, or a DCASE package as a zip file."""

    display: str
    data: bytes | None = None
    package: Path | None = None


def find_submission(res: Path, scratch: Path) -> Found:
    """The one submission under ``res`` (see the module docstring); raises ``InputError``."""
    files = _regular_files(res)
    jsonl = [f for f in files if f.name.endswith(".jsonl")]
    zips = [f for f in files if f.name.endswith(".zip")]
    package_like = [f for f in files if f.name.endswith((".meta.yaml", ".output.jsonl"))]
    if package_like:  # an unpacked DCASE package: zip it again, as intake reads packages
        return Found(res.name, package=_rezip(res, files, scratch))
    if len(jsonl) == 1 and not zips:
        path = jsonl[0]
        return Found(_rel(path, res), data=path.read_bytes())
    if len(zips) == 1 and not jsonl:
        return Found(_rel(zips[0], res), package=zips[0])
    shown = ", ".join(_rel(f, res) for f in files[:10]) or "nothing"
    raise InputError(
        [
            Problem(
                "submission",
                None,
                f"expected one .jsonl file (or one DCASE package) in the submission zip, found {shown}",
            )
        ]
    )


def _regular_files(res: Path) -> list[Path]:
    problems: list[Problem] = []
    out: list[Path] = []
    total = 0
    for root, dirs, names in os.walk(res, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
        for name in sorted(names) + [d for d in dirs if Path(root, d).is_symlink()]:
            path = Path(root, name)
            mode = path.lstat().st_mode
            if name in IGNORED_FILES and stat.S_ISREG(mode):
                continue
            rel = _rel(path, res)
            if stat.S_ISLNK(mode):
                problems.append(Problem(rel, None, "a symbolic link; submit regular files only"))
            elif not stat.S_ISREG(mode):
                problems.append(Problem(rel, None, "not a regular file"))
            else:
                out.append(path)
                total += path.lstat().st_size
        if len(out) > MAX_FILES:
            problems.append(Problem("submission", None, f"more than {MAX_FILES} files"))
            break
    if total > MAX_SUBMISSION_BYTES:
        problems.append(
            Problem("submission", None, f"{total:,} bytes unpacked, more than the {MAX_SUBMISSION_BYTES:,} accepted")
        )
    if problems:
        raise InputError(problems)
    return out


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _rezip(res: Path, files: list[Path], scratch: Path) -> Path:
    out = scratch / "package.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, _rel(f, res))
    return out


@dataclass
class Scored:
    scores: dict[str, float]
    html: str
    warnings: list[Problem]


def score_submission(found: Found, gt: Any, benchmark: str, resamples: int = 1000, seed: int = 0) -> Scored:
    """Validate and score; raises ``InputError`` with every problem when the submission is invalid."""
    from amr_bench.leaderboard.explorer import window_columns
    from amr_bench.leaderboard.results import prepare_result, score_bytes

    warnings: list[Problem] = []
    if found.package is not None:
        from amr_bench.leaderboard.intake import check_package

        checked = check_package(found.package, gt)
        if len(checked.systems) != 1:
            labels = ", ".join(s.system.label.text for s in checked.systems)
            raise InputError(
                [
                    Problem(
                        found.display, None, f"the package holds {len(checked.systems)} systems ({labels}); submit one"
                    )
                ]
            )
        prepared = checked.systems[0].prepared
        warnings = checked.systems[0].warnings
    else:
        assert found.data is not None
        report, result = score_bytes(found.data, gt, found.display)
        if result is None:
            raise InputError(report.problems, f"{found.display}: invalid")
        windows = window_columns(report, result.per_query["qid"].tolist())
        prepared = prepare_result(result, file_name=found.display, size=len(found.data), extra_columns=windows)
        warnings = list(report.warnings)
    return _rank_and_render(prepared, gt, benchmark, resamples, seed, warnings)


def _rank_and_render(
    prepared: Any, gt: Any, benchmark: str, resamples: int, seed: int, warnings: list[Problem]
) -> Scored:
    from amr_bench.leaderboard.ranking import RankSettings, rank_store
    from amr_bench.leaderboard.results import store_prepared
    from amr_bench.leaderboard.store import Store
    from amr_bench.scoring import official_round

    settings = RankSettings(resamples=resamples, seed=seed)
    with (
        tempfile.TemporaryDirectory(prefix="amr-bench-codabench-") as tmp,
        Store(Path(tmp) / "store.sqlite") as store,
    ):
        store_prepared(store, prepared, team=TEAM, system=SYSTEM, benchmark=benchmark)
        rankings = rank_store(store, settings)
        row = rankings[0].rows[0]
        scores = {}
        for c in LEADERBOARD:
            value = row.values[c.metric] if c.bound is None else row.ci[c.metric][c.bound]
            scores[c.key] = official_round(value)
        html = detailed_html(store, rankings, settings, gt, Path(tmp))
    return Scored(scores, html, warnings)


def detailed_html(store: Any, rankings: list[Any], settings: Any, gt: Any, scratch: Path) -> str:
    """The site's system page of the one stored submission, as one file with no link out of it.

    The per-query explorer gets each query's text and duration, never its ground-truth windows.
    """
    from amr_bench import __version__
    from amr_bench.leaderboard import exports, render
    from amr_bench.leaderboard.systems import GroundTruths

    class QueriesOnly(GroundTruths):
        def get(self, sha256: str) -> dict[Any, tuple[str, float, list[list[float]]]] | None:
            if sha256 != gt.sha256:
                return None
            durations = [float(d) for d in gt.durations]
            return {q: (gt.queries[r], durations[r], []) for q, r in gt.index.items()}

    pages = render.build_pages(rankings)
    page_of = {id(r): p for p in pages for r in p.rankings}
    anchors = {id(r): render._anchor(r) for r in rankings}
    summary = exports.system_summaries(rankings)[0]
    info = next(iter(store.systems_with_metadata()), None)
    ranked = {row.entry.submission_id for r in rankings for row in r.rows if row.ok}
    view = render._system_view(store, summary, info, rankings, ranked, page_of, anchors, QueriesOnly(), scratch)
    html = (
        render.environment()
        .get_template("system.html")
        .render(
            pages=[],
            nav=[],
            version=__version__,
            settings_json=render._json(settings.signature()),
            root="",
            current="system",
            title=f"{rankings[0].group.benchmark}: detailed results (amr-bench {__version__})",
            s=view,
        )
    )
    html = html.replace(
        "ground-truth windows (top lane)", "ground-truth windows (top lane; hidden: a blind evaluation set)"
    )
    return _without_links_out(html)


_HREF = re.compile(r'\shref="(?!#)[^"]*"')


def _without_links_out(html: str) -> str:
    """Every link to another file of the site dropped (the page is shown alone): anchors stay."""
    return _HREF.sub("", html)


def write_json_atomic(path: Path, value: Any) -> None:
    from amr_bench.outputs import write_text_atomic

    write_text_atomic(path, json.dumps(value, indent=2, allow_nan=False) + "\n")


def run(input_dir: Path, output_dir: Path) -> int:
    """The scoring program: 0 and ``scores.json`` for a valid submission, 1 and the problems otherwise."""
    from amr_bench.cli.app import err, print_problems
    from amr_bench.groundtruth import load_ground_truth
    from amr_bench.outputs import write_text_atomic

    ref, res = input_dir / "ref", input_dir / "res"
    info = json.loads((ref / REF_INFO).read_text(encoding="utf-8"))
    gt = load_ground_truth(ref / REF_GT)
    benchmark = str(info["benchmark"])
    output_dir.mkdir(parents=True, exist_ok=True)
    print(f"amr-bench scoring program: {benchmark}, {len(gt.qids)} queries")
    try:
        with tempfile.TemporaryDirectory(prefix="amr-bench-res-") as scratch:
            found = find_submission(res, Path(scratch))
            print(f"submission: {found.display}" + (" (a DCASE package)" if found.package else ""))
            scored = score_submission(found, gt, benchmark, int(info.get("resamples", 1000)), int(info.get("seed", 0)))
    except InputError as exc:
        print_problems(exc.problems)
        err(f"INVALID: {exc} ({sum(p.is_error for p in exc.problems)} error(s)); nothing scored")
        return 1
    except AmrBenchError as exc:
        err(f"error: {exc}")
        return 1
    for w in scored.warnings[:20]:
        print(w)
    write_text_atomic(output_dir / DETAILED, scored.html)
    write_json_atomic(output_dir / SCORES, scored.scores)
    for c in LEADERBOARD:
        print(f"{c.title}: {scored.scores[c.key]:.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: score.py INPUT_DIR OUTPUT_DIR (Codabench: /app/input /app/output)", file=sys.stderr)
        return 2
    return run(Path(args[0]), Path(args[1]))


__all__ = ["LEADERBOARD", "Found", "Scored", "find_submission", "main", "run", "score_submission"]
