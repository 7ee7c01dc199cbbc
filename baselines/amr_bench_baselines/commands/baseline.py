"""``amr-bench features extract`` and ``amr-bench baseline ...`` (the zero-shot MS-CLAP baselines
and the prior-only control).

torch and msclap are imported inside the command functions only (the ``baselines`` extra); a
command that needs torch says so, with the install command, when it is missing. ``baseline
prior`` needs neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from amr_bench.cli.app import GT_HELP, app, err, handles_errors
from amr_bench.errors import AmrBenchError, InputError, UsageError, did_you_mean

features_app = typer.Typer(help="Extract MS-CLAP features in the official layout.", no_args_is_help=True)
baseline_app = typer.Typer(
    help="Zero-shot baselines on MS-CLAP features, and the prior-only control (write submissions).",
    no_args_is_help=True,
)
tune_app = typer.Typer(help="Tune a baseline's settings on a validation split.", no_args_is_help=True)
app.add_typer(features_app, name="features")
app.add_typer(baseline_app, name="baseline")
baseline_app.add_typer(tune_app, name="tune")

WEIGHTS_HELP = "MS-CLAP 2023 weights (.pth); default $AMR_BENCH_CLAP_WEIGHTS, else the hub download."
DATA_HELP = "Dataset folder in the official layout (ROOT/<split>.jsonl, ROOT/clap, ROOT/clap_text)."
TOKENS_HELP = (
    "GPT-2 hub id or local folder: its tokenizer counts a query's tokens to find the end-of-text row "
    "of text features padded to 77 rows without a mask"
)
SPLIT_HELP = "Split to answer: DATA/<split>.jsonl (test, val...)."
OUT_HELP = "Submission JSON Lines file to write (its folder must exist; never one of the inputs)."
PROJECTION_HELP = "Weights with the projection heads (.pth or .npz); default DATA/clap_projection.npz."
EXTRA_HINT = "pip install 'amr-bench[baselines]'"


def _check_data(data: Path) -> Path:
    """``--data`` must be a folder (checked first: other defaults, like tune's --out, live in it)."""
    if not data.is_dir():
        what = "is not a folder" if data.exists() else "the dataset folder does not exist"
        raise UsageError(f"--data {data}: {what}; {DATA_HELP}")
    return data


def _check_out(out: Path, data: Path) -> Path:
    """Refuse ``--out`` before any work: a folder, a device, a missing folder, or a split file of
    the dataset folder (``DATA/*.jsonl``: writing there would destroy a ground truth)."""
    from amr_bench.outputs import check_output_file

    splits = sorted(data.glob("*.jsonl")) if data.is_dir() else []
    return check_output_file(out, "--out", [(f"split file {p.name} of --data", p) for p in splits])


def _require_extra(what: str, *modules: str) -> None:
    """A usage error naming the extra to install when torch (or ``modules``) cannot be imported."""
    import importlib

    for name in ("torch", *modules):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise UsageError(f"{what} needs the baselines extra: {EXTRA_HINT} (missing: {exc.name or name})") from None


def _model(weights: Path | None, text_model: str | None, random_weights: bool) -> Any:
    from amr_bench_baselines.zeroshot import clap_model

    if random_weights:
        if not text_model:
            raise UsageError("--random-weights needs --text-model (a local GPT-2 folder)")
        err("warning: random MS-CLAP weights: the features are meaningless (tests, benchmarks)")
        return clap_model.random_clap(text_model)
    adapter = clap_model.load_clap(weights, text_model)
    for line in adapter.report.lines():
        err(line)
    return adapter


def _heads(data: Path, projection: Path | None, weights: Path | None) -> Any:
    """Projection heads: --projection, else DATA/clap_projection.npz, else the MS-CLAP weights
    (read without msclap)."""
    import os

    from amr_bench_baselines.zeroshot.clap_weights import GET_WEIGHTS_HINT, WEIGHTS_ENV
    from amr_bench_baselines.zeroshot.projection_heads_torch import load_projection_heads

    chosen = projection or (
        data / "clap_projection.npz"
        if (data / "clap_projection.npz").is_file()
        else weights or os.environ.get(WEIGHTS_ENV)
    )
    if chosen is None:
        raise UsageError(f"no projection weights: pass --projection or --clap-weights; {GET_WEIGHTS_HINT}")
    err(f"projection heads from {chosen}")
    return load_projection_heads(chosen)


def _token_counter(text_model: str | None) -> Any:
    """Counts tokens with ``text_model``'s tokenizer (loaded when first needed), or None."""
    if not text_model:
        return None
    from amr_bench_baselines.zeroshot.clap_model import token_counter

    return token_counter(text_model)


def _finish(records: list[dict[str, Any]], gt: Any, out: Path, name: str) -> None:
    from amr_bench.scoring import score_records
    from amr_bench_baselines.zeroshot.submission import write_submission

    write_submission(records, out)
    print(f"{name}: wrote {len(records)} queries to {out}")
    if gt.has_windows:
        brief = score_records(records, gt).brief
        print("  " + "  ".join(f"{k.removeprefix('MR-full-')} {v:.2f}" for k, v in brief.items()))
    else:
        print(f"  not scored: {gt.name} has no relevant windows (a blind split)")


@features_app.command(
    "extract",
    epilog="Example: amr-bench features extract ./audio --queries test.jsonl --out ./castella",
)
@handles_errors
def features_extract(
    audio_dir: Path | None = typer.Argument(None, help="Folder of audio files (vid = file stem)."),
    out: Path = typer.Option(..., "--out", help="Output dataset folder (writes OUT/clap, OUT/clap_text)."),
    queries: Path | None = typer.Option(
        None, "--queries", help="JSONL with qid and query: also extract text features."
    ),
    clap_weights: Path | None = typer.Option(None, "--clap-weights", help=WEIGHTS_HELP),
    text_model: str | None = typer.Option(None, "--text-model", help="GPT-2 hub id or local folder (default gpt2)."),
    batch_size: int = typer.Option(
        16,
        "--batch-size",
        min=1,
        help="Clips per forward pass (text: 4x as many queries); lower it if memory runs out.",
    ),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Skip files already written."),
    framing: str = typer.Option(
        "lighthouse",
        "--framing",
        help="lighthouse: floor(seconds) unpadded 1-s clips (T frames); wrapper: centred 1-s windows, "
        "half-window zero padding (T+1 frames); repeat7: each second repeated to 7 s (ceil(seconds) frames).",
    ),
    random_weights: bool = typer.Option(False, "--random-weights", hidden=True),
) -> None:
    """Per-second MS-CLAP audio features (and query token features) in the official layout."""
    from amr_bench.outputs import check_output_folder

    check_output_folder(out, "--out")
    _require_extra("features extract", "soundfile")
    from amr_bench_baselines.zeroshot import extract
    from amr_bench_baselines.zeroshot.audio_framing import FRAMINGS

    if framing not in FRAMINGS:
        raise UsageError(f"unknown --framing {framing!r}; choose one of {', '.join(FRAMINGS)}")
    if audio_dir is None and queries is None:
        raise UsageError("nothing to extract: give an audio folder (AUDIO_DIR), --queries FILE, or both")
    files = extract.audio_files(audio_dir) if audio_dir is not None else []
    query_list = extract.read_queries(queries) if queries is not None else []
    adapter = _model(clap_weights, text_model, random_weights)
    problems = []
    if files:
        s = extract.extract_audio_features(adapter, files, out, batch_size=batch_size, resume=resume, framing=framing)
        print(s.line(f"audio features in {out / 'clap'} ({framing} framing)"))
        problems += s.problems
    if query_list:
        s = extract.extract_text_features(adapter, query_list, out, batch_size=4 * batch_size, resume=resume)
        print(s.line(f"text features in {out / 'clap_text'}"))
    if problems:
        raise InputError(problems, f"{len(problems)} audio file(s) gave no features")


@baseline_app.command(
    "jointproj", epilog="Example: amr-bench baseline jointproj --data ./castella --split test --out jointproj.jsonl"
)
@handles_errors
def baseline_jointproj(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("test", "--split", help=SPLIT_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    variant: str = typer.Option("s1", "--variant", help="s1 (smooth_k=5), s2 (smooth_k=7), s3 (rel_height=0.45)."),
    smooth_k: int | None = typer.Option(None, "--smooth-k", min=1, help="Override the variant's smoothing width."),
    rel_height: float | None = typer.Option(
        None, "--rel-height", min=0.0, max=1.0, help="Override the variant's peak width height (0 to 1 of the peak)."
    ),
    projection: Path | None = typer.Option(None, "--projection", help=PROJECTION_HELP),
    clap_weights: Path | None = typer.Option(None, "--clap-weights", help=WEIGHTS_HELP),
    reencode_text: bool = typer.Option(
        False,
        "--reencode-text",
        help="Encode the raw query with MS-CLAP's caption encoder instead of using the text features.",
    ),
    bf16: bool = typer.Option(
        False,
        "--bf16",
        help="Projection matmuls in bfloat16 (faster on CPUs with AMX/AVX512-BF16; "
        "not bit-identical to the float32 default).",
    ),
    text_model: str | None = typer.Option(
        None, "--text-model", help=TOKENS_HELP + "; with --reencode-text, the GPT-2 of the model (default gpt2)."
    ),
) -> None:
    """JointProj: projected per-second cosine, FWHM peaks (needs only the projection heads, not msclap)."""
    _check_out(out, _check_data(data))
    _require_extra("baseline jointproj")
    from dataclasses import replace

    import torch

    from amr_bench_baselines.zeroshot.curves import load_split_data, require_features
    from amr_bench_baselines.zeroshot.jointproj import VARIANTS, jointproj

    if variant not in VARIANTS:
        raise UsageError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    settings = VARIANTS[variant]
    if smooth_k is not None:
        settings = replace(settings, smooth_k=smooth_k)
    if rel_height is not None:
        settings = replace(settings, rel_height=rel_height)
    ds = load_split_data(data, split)
    require_features(ds, text=not reencode_text)  # before loading any model
    text_vectors = None
    if reencode_text:
        adapter = _model(clap_weights, text_model, False)
        heads = adapter.heads
        text_vectors = adapter.text_embeddings(ds.gt.queries)
    else:
        heads = _heads(data, projection, clap_weights)
    if bf16:
        heads = replace(heads, matmul_dtype=torch.bfloat16)
    err(f"jointproj {variant}: {settings.to_dict()}, matmuls in {'bfloat16' if bf16 else 'float32'}")
    records = jointproj(ds, heads, settings, text_vectors, None if reencode_text else _token_counter(text_model))
    _finish(records, ds.gt, out, f"jointproj {variant}")


@baseline_app.command(
    "clap-cosine", epilog="Example: amr-bench baseline clap-cosine --data ./castella --split test --out cosine.jsonl"
)
@handles_errors
def baseline_clap_cosine(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("test", "--split", help=SPLIT_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    text_model: str | None = typer.Option(None, "--text-model", help=TOKENS_HELP + "."),
) -> None:
    """The control: raw 768-d cosine with the pooled (end-of-text) token, JointProj's localisation (s1)."""
    _check_out(out, _check_data(data))
    _require_extra("baseline clap-cosine")
    from amr_bench_baselines.zeroshot.clap_cosine import clap_cosine
    from amr_bench_baselines.zeroshot.curves import load_split_data

    ds = load_split_data(data, split)
    _finish(clap_cosine(ds, count_tokens=_token_counter(text_model)), ds.gt, out, "clap-cosine")


def _settings_path(data: Path, settings: Path | None) -> Path:
    from amr_bench_baselines.zeroshot.sliding_clap import SETTINGS_NAME

    return settings if settings is not None else data / SETTINGS_NAME


def _window_banks(
    audio_dir: Path | None,
    ds: Any,
    windows: list[int],
    weights: Path | None,
    text_model: str | None,
    random_weights: bool,
) -> tuple[Any, Any]:
    """``(adapter, {window: bank})`` from raw audio, or ``(None, None)`` without --audio-dir."""
    if audio_dir is None:
        return None, None
    from amr_bench_baselines.zeroshot.sliding_clap import audio_window_banks, find_audio_files

    files = find_audio_files(ds, audio_dir)
    adapter = _model(weights, text_model, random_weights)
    return adapter, audio_window_banks(adapter, files, windows)


@baseline_app.command(
    "sliding-clap",
    epilog="Example: amr-bench baseline sliding-clap --data ./castella --split test --out sliding.jsonl  "
    "(after: amr-bench baseline tune sliding-clap --data ./castella)",
)
@handles_errors
def baseline_sliding_clap(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("test", "--split", help=SPLIT_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    settings: Path | None = typer.Option(
        None, "--settings", help="Settings from `baseline tune sliding-clap` (default DATA/sliding-clap.settings.json)."
    ),
    window: int | None = typer.Option(None, "--window", min=1, help="Window length in seconds (1, 4, 7...)."),
    threshold: float | None = typer.Option(None, "--threshold", help="Cosine threshold (overrides the settings file)."),
    median: int | None = typer.Option(None, "--median-filter", min=1, help="Median filter length (odd)."),
    audio_dir: Path | None = typer.Option(
        None,
        "--audio-dir",
        help="Raw audio (vid.<ext>): embed windows with the audio encoder instead of pooling features.",
    ),
    projection: Path | None = typer.Option(None, "--projection", help=PROJECTION_HELP),
    clap_weights: Path | None = typer.Option(None, "--clap-weights", help=WEIGHTS_HELP),
    text_model: str | None = typer.Option(None, "--text-model", hidden=True),
    random_weights: bool = typer.Option(False, "--random-weights", hidden=True),
) -> None:
    """Sliding-window CLAP: threshold + median filter, moments = runs."""
    _check_out(out, _check_data(data))
    _require_extra("baseline sliding-clap")
    from amr_bench_baselines.zeroshot.curves import load_split_data, require_features
    from amr_bench_baselines.zeroshot.sliding_clap import SlidingSettings, sliding_clap

    path = _settings_path(data, settings)
    if path.is_file():
        chosen = SlidingSettings.load(path)
        err(f"settings from {path}")
    elif settings is not None:
        raise UsageError(
            f"--settings {settings}: the file does not exist (write one with amr-bench baseline tune sliding-clap)"
        )
    else:
        chosen = SlidingSettings()
    for name, value in (("window", window), ("threshold", threshold), ("median", median)):
        if value is not None:
            setattr(chosen, name, value)
    if chosen.median % 2 == 0:
        raise UsageError(f"--median-filter must be odd, got {chosen.median}")
    ds = load_split_data(data, split)
    require_features(ds, audio=audio_dir is None)  # before loading any model
    adapter, banks = _window_banks(audio_dir, ds, [chosen.window], clap_weights, text_model, random_weights)
    heads = adapter.heads if adapter else _heads(data, projection, clap_weights)
    chosen.source = "audio" if banks else "pooled-features"
    err(
        f"sliding-clap: window {chosen.window} s, threshold {chosen.threshold}, median filter "
        f"{chosen.median}, window embeddings from {chosen.source}"
    )
    records = sliding_clap(ds, heads, chosen, banks[chosen.window] if banks else None, _token_counter(text_model))
    _finish(records, ds.gt, out, f"sliding-clap ({chosen.source})")


@tune_app.command(
    "sliding-clap",
    epilog="Example: amr-bench baseline tune sliding-clap --data ./castella --split val --windows 1,4,7",
)
@handles_errors
def tune_sliding_clap(
    data: Path = typer.Option(..., "--data", help=DATA_HELP),
    split: str = typer.Option("val", "--split", help="Split to tune on: DATA/<split>.jsonl (never the test split)."),
    metric: str = typer.Option("R1@0.7", "--metric", help="R1@0.5, R1@0.7, mAP, mAP@0.5 or mAP@0.75."),
    windows: str = typer.Option("1,4,7", "--windows", help="Window lengths to try, seconds."),
    out: Path | None = typer.Option(
        None, "--out", help="Settings file to write (default DATA/sliding-clap.settings.json)."
    ),
    audio_dir: Path | None = typer.Option(None, "--audio-dir", help="Raw audio: embed windows with the audio encoder."),
    projection: Path | None = typer.Option(None, "--projection", help=PROJECTION_HELP),
    clap_weights: Path | None = typer.Option(None, "--clap-weights", help=WEIGHTS_HELP),
    text_model: str | None = typer.Option(None, "--text-model", hidden=True),
    random_weights: bool = typer.Option(False, "--random-weights", hidden=True),
) -> None:
    """Grid-search window, threshold and median filter on a split by a declared metric."""
    _check_data(data)
    _require_extra("baseline tune sliding-clap")  # before the settings path: its default name needs torch
    settings_path = _check_out(_settings_path(data, out), data)
    from amr_bench_baselines.zeroshot.curves import load_split_data, require_features
    from amr_bench_baselines.zeroshot.sliding_clap import tune

    try:
        window_list = [int(w) for w in windows.split(",") if w.strip()]
    except ValueError:
        window_list = []
    if not window_list or min(window_list) < 1:
        raise UsageError(f"--windows takes comma-separated seconds >= 1 like 1,4,7; got {windows!r}")
    ds = load_split_data(data, split)
    require_features(ds, audio=audio_dir is None)  # before loading any model
    adapter, banks = _window_banks(audio_dir, ds, window_list, clap_weights, text_model, random_weights)
    heads = adapter.heads if adapter else _heads(data, projection, clap_weights)
    counter = _token_counter(text_model)
    result = tune(ds, heads, metric=metric, windows=window_list, window_banks=banks, count_tokens=counter)
    best = result.best
    path = best.save(settings_path)
    print(
        f"tuned on {data}/{split} by {metric} ({len(result.table)} candidates): window "
        f"{best.window} s, threshold {best.threshold:.6g}, median filter {best.median} -> "
        f"{metric} {100 * best.tuned_on['value']:.2f}"
    )
    print(f"settings written to {path}")


@baseline_app.command(
    "prior", epilog="Example: amr-bench baseline prior --fit castella/train --gt castella/test --out prior.jsonl"
)
@handles_errors
def baseline_prior(
    fit: str = typer.Option(
        ..., "--fit", help="The split the windows are fitted on (train or val, never the one answered). " + GT_HELP
    ),
    gt: str = typer.Option(..., "--gt", help="The queries to answer. " + GT_HELP),
    out: Path = typer.Option(..., "--out", help=OUT_HELP),
    method: str = typer.Option(
        "best-windows",
        "--method",
        help="best-windows: the same greedy best fixed windows for every query; "
        "sample: windows drawn from the fitting split's moments (fractions of the duration).",
    ),
    k: int = typer.Option(10, "--k", min=1, max=100, help="Windows per query."),
    theta: float = typer.Option(0.7, "--theta", min=0.05, max=1.0, help="IoU threshold best-windows fits R1 at."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed of --method sample (a non-negative integer)."),
) -> None:
    """The prior-only control: windows that ignore the audio and the query (what listening to nothing scores)."""
    from amr_bench.outputs import check_output_file
    from amr_bench_baselines.zeroshot.prior import METHODS, fit_prior, prior_records

    if method not in METHODS:
        raise UsageError(
            f"unknown --method {method!r}{did_you_mean(method, METHODS)}; choose one of {', '.join(METHODS)}"
        )
    check_output_file(out, "--out", [("--fit ground truth", _gt_file(fit)), ("--gt ground truth", _gt_file(gt))])
    fitted_on = _load_gt_option(fit, "--fit")
    if not fitted_on.has_windows:
        raise UsageError(f"--fit {fit}: no relevant windows to fit on (a blind split); use a train or val split")
    target = _load_gt_option(gt, "--gt")
    if fitted_on.sha256 == target.sha256:
        err(
            f"warning: --fit and --gt are the same ground truth ({fitted_on.name}): the windows are fitted on "
            "the answers they are scored on, an upper bound rather than a control; fit on train or val"
        )
    fitted = fit_prior(fitted_on, method, k, theta)
    err(f"prior fitted on {fitted_on.name} ({len(fitted_on)} queries): {fitted.describe()}")
    _finish(prior_records(fitted, target, k, seed), target, out, f"prior {method}")


def _load_gt_option(spec: str, option: str) -> Any:
    """The ground truth of ``--fit``/``--gt``; a name that is no split is reported with the option."""
    from amr_bench.groundtruth import load_ground_truth

    try:
        return load_ground_truth(spec)
    except UsageError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _gt_file(spec: str) -> Path | None:
    """The file a ``--gt``-style spec names, or None when it names none (reported when it is read)."""
    from amr_bench.datasets.registry import resolve_ground_truth

    try:
        return resolve_ground_truth(spec)[0]
    except AmrBenchError:
        return None
