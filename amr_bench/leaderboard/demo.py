"""``amr-bench demo``: a complete leaderboard built offline from what ships with the package.

It creates a new store in the output folder (it never touches an existing one: it refuses, or
with ``force`` keeps a backup copy first) and adds:

- the bundled real reference run (QD-DETR on CASTELLA val, from lighthouse), marked as baseline;
- generated systems on every bundled split with a ground truth (CASTELLA train/val/test,
  Clotho-Moment val/test, UnAV-100 test, TUT 2017 test), all labelled ``synthetic`` with their
  generator and seed: the ground truth with seeded boundary noise, the whole recording, random
  windows; on CASTELLA val also the ground truth itself (oracle), the reference run shifted in
  time, an identical copy of the reference run (to show a shared rank) and one deliberately
  broken file (to show how a failed entry is listed). The DCASE 2026 evaluation split is blind
  (queries only), so nothing can be scored on it;
- one generated DCASE package in the real layout (one zip, ``task6/<label>/<label>.meta.yaml`` and
  ``<label>.output.jsonl`` per system, ``task6/<Lastname>_<Inst>_task6.technical_report.pdf``),
  ingested like a real one, so a system page shows its metadata and links its report;
- the runs of every function registered in the ``amr_bench.demo_systems`` entry point group
  (the optional baselines register the zero-shot baselines on a small simulated benchmark and the
  prior-only control, fitted on a different split, on every benchmark);
- one later version of two castella/val systems, to show the version history: a failed attempt
  after a valid version (listed as failed, never hiding it) and a version an organiser withdrew.

Then it ranks every group, renders the site and prints the tables and where the pages are.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import yaml

from amr_bench.errors import AmrBenchError, UsageError
from amr_bench.leaderboard.exports import format_table, tests_note
from amr_bench.leaderboard.ranking import RankSettings, rank_store
from amr_bench.leaderboard.render import render_site
from amr_bench.leaderboard.results import add_file, add_records
from amr_bench.leaderboard.store import Store
from amr_bench.outputs import staged_folder

STORE_NAME = "leaderboard.sqlite"
SITE_DIR = "site"
PACKAGE_NAME = "Doe_UNI_task6.zip"
DEMO_SYSTEMS_GROUP = "amr_bench.demo_systems"
Records = list[dict[str, Any]]
Echo = Callable[[str], None]
# Every bundled split with a ground truth; quick mode keeps the small ones.
FULL_SPLITS = (
    "castella/train",
    "castella/test",
    "clotho-moment/val",
    "clotho-moment/test",
    "unav100-subset/test",
    "tut2017/test",
)
QUICK_SPLITS = ("unav100-subset/test", "tut2017/test")


def _read(path: Path) -> Records:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def oracle(gt: Records) -> Records:
    return [{"qid": g["qid"], "pred_relevant_windows": [list(w) for w in g["relevant_windows"]]} for g in gt]


def jittered(gt: Records, sigma: float, seed: int) -> Records:
    """Ground-truth windows with Gaussian boundary noise (sigma seconds), clipped to the recording."""
    rng = np.random.default_rng(seed)
    out = []
    for g in gt:
        wins = []
        for s, e in g["relevant_windows"]:
            a, b = sorted((float(s) + rng.normal(0, sigma), float(e) + rng.normal(0, sigma)))
            a, b = max(0.0, a), min(float(g["duration"]), b)
            if b - a < 0.5:
                a, b = max(0.0, min(a, float(g["duration"]) - 0.5)), min(float(g["duration"]), a + 0.5)
            wins.append([round(float(a), 2), round(float(b), 2)])
        out.append({"qid": g["qid"], "pred_relevant_windows": wins})
    return out


def shifted(preds: Records, durations: dict[Any, float], seconds: float) -> Records:
    out = []
    for p in preds:
        d = durations[p["qid"]]
        wins = []
        for w in p["pred_relevant_windows"]:
            a, b = min(max(0.0, w[0] + seconds), d - 1.0), min(d, w[1] + seconds)
            wins.append([a, max(b, a + 1.0), *w[2:]])
        out.append({**p, "pred_relevant_windows": wins})
    return out


def whole_recording(gt: Records) -> Records:
    return [{"qid": g["qid"], "pred_relevant_windows": [[0.0, float(g["duration"])]]} for g in gt]


def random_windows(gt: Records, seed: int, k: int = 5) -> Records:
    rng = np.random.default_rng(seed)
    out = []
    for g in gt:
        d = float(g["duration"])
        starts = rng.uniform(0, d * 0.9, k)
        lengths = rng.uniform(1.0, max(1.5, d / 4), k)
        out.append(
            {
                "qid": g["qid"],
                "pred_relevant_windows": [
                    [round(float(s), 2), round(float(min(d, s + n)), 2)] for s, n in zip(starts, lengths, strict=True)
                ],
            }
        )
    return out


def prepare_output(out: Path, force: bool, echo: Echo) -> Path:
    """The demo folder, checked: an existing store is never touched (``force``: moved to a backup).

    Returns the store path, which does not exist when this returns.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; give the demo a folder to write into")
    db = out / STORE_NAME
    existing = [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists() or p.is_symlink()]
    if not existing:
        return db
    if not force:
        raise UsageError(
            f"{db} already exists; the demo never replaces a store. Choose another folder, or pass "
            "--force to keep a backup copy of it and start a new demo store"
        )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    k = 0
    while True:
        suffix = f".backup-{stamp}" + (f"-{k}" if k else "")
        if not any(Path(f"{p}{suffix}").exists() for p in existing):
            break
        k += 1
    for p in existing:
        if not p.is_file() or p.is_symlink():
            raise UsageError(f"{p} is not a regular file; move it away yourself")
    backup = Path(f"{db}{suffix}")
    backup_store(db, backup)  # the store as SQLite reads it, write-ahead log included, in one file
    for p in existing:  # removed only once the backup is complete
        p.unlink(missing_ok=True)
    echo(f"note: the existing store was moved to {db}{suffix} (--force)")
    return db


def backup_store(db: Path, backup: Path) -> None:
    """Copy the store ``db`` to the new file ``backup`` with SQLite's online backup API: every
    committed result is kept, those still in the write-ahead log (``-wal``) included, which a copy
    of the file alone would lose. The backup is one self-contained file (rollback journal mode); a
    failure removes it and leaves ``db`` as it was."""
    import sqlite3
    import urllib.parse

    source = None
    target = None
    try:
        source = sqlite3.connect(f"file:{urllib.parse.quote(str(db.resolve()))}?mode=ro", uri=True)
        target = sqlite3.connect(backup)
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")
        target.close()
        target = None
    except sqlite3.Error as exc:
        if target is not None:
            target.close()
        for p in (backup, Path(f"{backup}-wal"), Path(f"{backup}-shm"), Path(f"{backup}-journal")):
            p.unlink(missing_ok=True)
        raise UsageError(f"{db}: cannot back it up ({exc}); it was left as it is, move it away yourself") from None
    finally:
        if source is not None:
            source.close()


@dataclass
class DemoStore:
    """The demo's store, with one way to add a generated system's records."""

    store: Store

    def put(
        self,
        bench: str,
        gt: Any,
        team: str,
        system: str,
        records: Records,
        why: str,
        synthetic: bool = True,
        reference: str | None = None,
        **kw: Any,
    ) -> None:
        fname = "".join(c if c.isalnum() or c in "-_." else "_" for c in system) + ".jsonl"
        add_records(
            self.store,
            records,
            gt,
            team=team,
            system=system,
            benchmark=bench,
            file_name=fname,
            synthetic=synthetic,
            system_meta={"description": why, **({"reference": reference} if reference else {})},
            **kw,
        )


def run_demo(out: str | Path, quick: bool = False, echo: Echo = print, force: bool = False) -> Path:
    """Build the demo store and site in ``out``; returns the index page."""
    from amr_bench.datasets.registry import find_split
    from amr_bench.groundtruth import load_ground_truth

    t0 = time.perf_counter()
    out = Path(out)
    db = prepare_output(out, force, echo)
    out.mkdir(parents=True, exist_ok=True)
    extra_truths: list[Path] = []
    with Store(db) as store:
        demo = DemoStore(store)
        val = find_split("castella/val")
        assert val is not None
        gt, gt_rec = load_ground_truth("castella/val"), _read(val.path)
        _castella_val_systems(demo, gt, gt_rec)
        _later_versions(demo, gt, gt_rec)
        for name in QUICK_SPLITS if quick else FULL_SPLITS:
            entry = find_split(name)
            if entry is not None and entry.has_windows:
                _generated_systems(demo, name, load_ground_truth(name), _read(entry.path))
        echo("note: dcase2026/eval is blind (queries only, no windows): no system can be scored on it here")
        _ingest_demo_package(store, out, gt, gt_rec, echo)
        if not quick:
            extra_truths += _plugin_systems(store, out, echo, demo.put)
        settings = RankSettings()
        rankings = rank_store(store, settings)
        with staged_folder(out / SITE_DIR) as stage:  # a new folder, swapped in whole
            staged = render_site(store, stage, settings, rankings, ground_truths=extra_truths)
        files = [out / SITE_DIR / f.relative_to(stage) for f in staged]
    for r in rankings:
        echo(f"\n== {r.group.benchmark}  (ground truth {r.group.gt_sha256[:12]}, {r.n_queries} queries)")
        echo(format_table(r))
    if rankings:
        echo(f"\n{tests_note(rankings[0])}")
    echo(f"\nstore: {db}  (amr-bench leaderboard rank --db {db}; or set AMR_BENCH_DB={db})")
    echo(f"site:  {files[0].resolve()}  (open it in a browser; works from file://)")
    echo(f"demo finished in {time.perf_counter() - t0:.1f} s")
    return files[0]


WHOLE = "one window covering the whole recording"


def _castella_val_systems(demo: DemoStore, gt: Any, gt_rec: Records) -> None:
    """CASTELLA val: the real reference run (the baseline) and systems generated around it."""
    ref_file = Path(__file__).resolve().parent.parent / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
    add_file(
        demo.store,
        ref_file,
        gt,
        team="lighthouse (reference run)",
        system="QD-DETR",
        benchmark="castella/val",
        baseline=True,
        system_meta={
            "description": "real predictions bundled with amr-bench (QD-DETR trained on CASTELLA, lighthouse)",
            "reference": "official baseline",
        },
    )
    ref = _read(ref_file)
    durations = {g["qid"]: float(g["duration"]) for g in gt_rec}
    systems: list[tuple[str, Records, str]] = [
        ("oracle", oracle(gt_rec), "the ground truth itself (upper bound)"),
        ("QD-DETR duplicate", ref, "an identical copy of the reference run: shares its rank"),
        ("QD-DETR shifted +3 s", shifted(ref, durations, 3.0), "reference run with every window moved 3 s later"),
        *_jitter_systems(gt_rec, ((1.0, 11), (4.0, 12), (10.0, 13))),
        ("whole recording", whole_recording(gt_rec), WHOLE),
        ("random windows", random_windows(gt_rec, 7), "five random windows per query, seed 7"),
        ("broken <b>run</b>", oracle(gt_rec)[:-5], "deliberately invalid (5 queries missing): listed last"),
    ]
    for system, records, why in systems:
        demo.put("castella/val", gt, "synthetic", system, records, why)


def _jitter_systems(recs: Records, noise: tuple[tuple[float, int], ...]) -> list[tuple[str, Records, str]]:
    return [
        (
            f"oracle jitter {sigma:g} s",
            jittered(recs, sigma, seed),
            f"ground truth + N(0, {sigma:g} s) boundary noise, seed {seed}",
        )
        for sigma, seed in noise
    ]


def _later_versions(demo: DemoStore, gt: Any, gt_rec: Records) -> None:
    """Later versions on CASTELLA val, so the system pages show a version history."""
    # a failed attempt after the valid version 1: listed as failed, version 1 still ranks
    demo.put(
        "castella/val",
        gt,
        "synthetic",
        "whole recording",
        whole_recording(gt_rec)[:-3],
        "one window covering the whole recording",
    )
    # version 2 is the ground truth itself: an organiser withdraws it, version 1 ranks again
    demo.put(
        "castella/val",
        gt,
        "synthetic",
        "oracle jitter 10 s",
        oracle(gt_rec),
        "ground truth + N(0, 10 s) boundary noise, seed 13",
    )
    demo.store.withdraw(
        "synthetic",
        "oracle jitter 10 s",
        version=2,
        benchmark="castella/val",
        reason="the file is the ground truth itself, not the system described (demo)",
        actor="amr-bench demo",
    )


def _generated_systems(demo: DemoStore, name: str, gt: Any, recs: Records) -> None:
    """The generated reference systems of every other bundled split with a ground truth."""
    systems = [
        *_jitter_systems(recs, ((1.0, 11), (4.0, 12))),
        ("whole recording", whole_recording(recs), WHOLE),
        ("random windows", random_windows(recs, 8), "five random windows per query, seed 8"),
    ]
    for system, records, why in systems:
        demo.put(name, gt, "synthetic", system, records, why)


# ---- a DCASE package in the real layout --------------------------------------------------


def tiny_pdf(lines: list[str]) -> bytes:
    """A minimal valid one-page PDF 1.4 showing ``lines`` (ASCII) in Helvetica."""

    def esc(t: str) -> str:
        return t.encode("ascii", "replace").decode().replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    text = "BT /F1 14 Tf 72 760 Td 18 TL " + " ".join(f"({esc(t)}) Tj T*" for t in lines) + " ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text.encode("ascii") + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for k, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def demo_meta(
    label: str, name: str, abbreviation: str, description: dict[str, Any], params: int, results: dict[str, float]
) -> dict[str, Any]:
    """A system meta file in the DCASE layout (submission / system / results)."""
    return {
        "submission": {
            "label": label,
            "name": name,
            "abbreviation": abbreviation,
            "authors": [
                {
                    "lastname": "Doe",
                    "firstname": "Jane",
                    "email": "jane.doe@example.org",
                    "corresponding": True,
                    "affiliation": {
                        "abbreviation": "UNI",
                        "institution": "Example University",
                        "department": "Signal Processing Group",
                        "location": "Tampere, Finland",
                    },
                },
                {
                    "lastname": "Roe",
                    "firstname": "Richard",
                    "email": "richard.roe@example.org",
                    "affiliation": {
                        "abbreviation": "LAB",
                        "institution": "Example Audio Lab",
                        "location": "Kyoto, Japan",
                    },
                },
            ],
        },
        "system": {
            "description": description,
            "complexity": {"total_parameters": params, "trainable_parameters": params},
            "source_code": "https://example.org/doe-uni/amr-task6",
        },
        "results": {"development_dataset": {"dataset": "castella/val", **results}},
    }


def build_demo_package(path: Path, gt: Any, gt_rec: Records) -> Path:
    """Write a two-system package for castella/val in the real DCASE zip layout."""
    from amr_bench.scoring import score_records

    systems: list[tuple[str, str, str, Records, dict[str, Any], int]] = [
        (
            "Doe_UNI_task6_1",
            "AM-DETR-like (generated)",
            "DoeDETR",
            jittered(gt_rec, 2.0, 41),
            {
                "input_sampling_rate": "44.1kHz",
                "audio_representation": "MS-CLAP 2023 HTSAT, 1 s window, 1 s hop",
                "text_representation": "MS-CLAP 2023 GPT-2",
                "machine_learning_method": "DETR-style decoder over per-second CLAP features",
                "training_data": ["Clotho-Moment train", "CASTELLA train"],
                "data_augmentation": ["time shift", "mixup"],
                "ensemble_size": 3,
            },
            7_600_000,
        ),
        (
            "Doe_UNI_task6_2",
            "Sliding CLAP (generated)",
            "DoeSlide",
            jittered(gt_rec, 6.0, 42),
            {
                "input_sampling_rate": "44.1kHz",
                "audio_representation": "MS-CLAP 2023 HTSAT, 1 s window, 1 s hop",
                "text_representation": "MS-CLAP 2023 GPT-2",
                "machine_learning_method": "zero-shot sliding-window cosine with a median filter",
                "data_augmentation": None,
                "ensemble_size": 1,
            },
            159_000_000,
        ),
    ]
    report = tiny_pdf(
        [
            "Doe_UNI_task6 technical report (generated by amr-bench demo)",
            "System 1: AM-DETR-like; system 2: sliding CLAP.",
            "Every number in this package is synthetic.",
        ]
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("task6/", b"")
        for label, name, abbr, records, desc, params in systems:
            zf.writestr(f"task6/{label}/", b"")
            brief = score_records(records, gt).brief  # what the authors would report, in percent
            claimed = {
                "R1@0.5": brief["MR-full-R1@0.5"],
                "R1@0.7": brief["MR-full-R1@0.7"],
                "mAP": brief["MR-full-mAP"],
            }
            meta = demo_meta(label, name, abbr, desc, params, claimed)
            zf.writestr(f"task6/{label}/{label}.meta.yaml", yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))
            zf.writestr(f"task6/{label}/{label}.output.jsonl", b"".join(orjson.dumps(r) + b"\n" for r in records))
        zf.writestr("task6/Doe_UNI_task6.technical_report.pdf", report)
    return path


def _ingest_demo_package(store: Store, out: Path, gt: Any, gt_rec: Records, echo: Echo) -> None:
    from amr_bench.leaderboard import intake

    path = build_demo_package(out / PACKAGE_NAME, gt, gt_rec)
    try:
        _, stored = intake.ingest(store, path, gt, "castella/val")
    except AmrBenchError as exc:  # intake is another module's: report, never abort the demo
        echo(f"note: the demo DCASE package was not ingested: {exc}")
        for p in getattr(exc, "problems", [])[:10]:
            echo(f"  {p}")
        return
    with zipfile.ZipFile(path) as zf:
        pdf = next(n for n in zf.namelist() if n.endswith(".pdf"))
    echo(f"ingested the DCASE package {path.name}: {len(stored)} system(s), report {Path(pdf).name}")


# ---- systems other packages contribute ---------------------------------------------------


def _plugin_systems(store: Store, out: Path, echo: Echo, put: Callable[..., None]) -> list[Path]:
    """Store the runs of every ``amr_bench.demo_systems`` function; returns their ground-truth files.

    Each function takes the demo folder and returns runs: mappings with ``benchmark``,
    ``ground_truth`` (a bundled split name such as ``"castella/test"``, or a JSON Lines file),
    ``team``, ``system``, ``records`` and ``description``, and optionally ``reference``: the badge
    of a reference row (a control or a baseline) on the results pages. A benchmark of its own (a file) gets two
    generated reference systems beside the runs; a bundled split already has them.
    """
    from amr_bench.datasets.registry import find_split
    from amr_bench.groundtruth import load_ground_truth

    found = sorted(entry_points(group=DEMO_SYSTEMS_GROUP), key=lambda e: e.name)
    if not found:
        echo(
            "note: no demo systems registered (the optional baselines add the zero-shot baselines on a "
            "simulated benchmark and the prior-only control: pip install 'amr-bench[baselines]')"
        )
        return []
    truths: list[Path] = []
    for entry in found:
        try:
            runs = entry.load()(out)
        except ImportError as exc:
            echo(f"note: demo systems {entry.name!r} skipped: {exc.name or exc} is not installed")
            continue
        except Exception as exc:  # another package's code: report, do not hide, do not abort the demo
            echo(f"note: demo systems {entry.name!r} skipped: {type(exc).__name__}: {exc}")
            continue
        loaded: dict[str, Any] = {}
        for run in runs:
            source = run["ground_truth"]
            bundled = isinstance(source, str) and find_split(source) is not None
            key = str(source)
            if key not in loaded:
                loaded[key] = load_ground_truth(source if bundled else Path(source))
                if not bundled:
                    truths.append(Path(source))
                    recs = _read(Path(source))
                    put(
                        run["benchmark"],
                        loaded[key],
                        "synthetic",
                        "oracle jitter 3 s",
                        jittered(recs, 3.0, 31),
                        "ground truth + N(0, 3 s) boundary noise, seed 31",
                    )
                    put(
                        run["benchmark"],
                        loaded[key],
                        "synthetic",
                        "random windows",
                        random_windows(recs, 9),
                        "five random windows per query, seed 9",
                    )
            put(
                run["benchmark"],
                loaded[key],
                run["team"],
                run["system"],
                run["records"],
                run["description"],
                synthetic=False,
                reference=run.get("reference"),  # a reference row's badge ("prior-only control")
            )
    return truths
