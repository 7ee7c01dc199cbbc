"""The bundle's pages (Markdown, which Codabench renders): overview, evaluation, data, terms.

Written from what amr-bench knows: the benchmarks (names, query counts, recordings), the
submission format, the metrics with the official scorer's exact semantics, the tie rules, the
leaderboard's columns and the example (baseline) submission's numbers. Never from the ground
truth's windows: the only numbers derived from them are the example's aggregate scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amr_bench import __version__
from amr_bench.codabench.worker import LEADERBOARD

REPO_HINT = "the amr-bench package (`pip install amr-bench`)"


@dataclass(frozen=True)
class BenchmarkPage:
    """What the pages say about one benchmark."""

    name: str
    queries: int
    recordings: int
    example_scores: dict[str, float]  # the leaderboard keys, for the example submission
    example_label: str
    matches_split: str | None  # the bundled query list the ground truth answers (e.g. dcase2026/eval)
    baselines: tuple[tuple[str, dict[str, float]], ...] = ()  # (label, scores) of the organisers' baseline runs


def overview(title: str, benchmarks: Sequence[BenchmarkPage]) -> str:
    lines = [
        f"# {title}",
        "",
        "Language-based audio moment retrieval: for each text query, find the time windows of a long "
        "recording where the described sound happens (DCASE 2026 Task 6).",
        "",
        "This is a permanent evaluation server: the ground truth stays hidden and every submission is "
        "scored by amr-bench, with the official scorer's exact numbers, on Codabench's workers.",
        "",
        "| benchmark | queries | recordings | phase |",
        "| --- | ---: | ---: | --- |",
    ]
    lines += [f"| {b.name} | {b.queries} | {b.recordings} | {b.name} |" for b in benchmarks]
    lines += [
        "",
        "## How to take part",
        "",
        "1. Run your system on the queries (see *Data*) and write one JSON Lines file.",
        "2. Check it offline: `amr-bench validate run.jsonl` (the same checks the server runs).",
        "3. Zip the file (`zip submission.zip run.jsonl`) and submit the zip to the benchmark's phase. "
        "A DCASE Task 6 submission package with one system is accepted as it is.",
        "4. The leaderboard shows R1@0.7, R1@0.5, mAP and R1@0.7's 95% interval; *detailed results* "
        "show every metric at every threshold, the breakdown by moment length and a per-query explorer.",
        "",
        "The starting kit holds a valid example submission (the prior-only control: the same fixed "
        "windows for every query, ignoring audio and query) and a broken one, to see both outcomes.",
        "",
        f"Scoring program: amr-bench {__version__}.",
    ]
    return "\n".join(lines) + "\n"


def evaluation(benchmarks: Sequence[BenchmarkPage], resamples: int, seed: int) -> str:
    lines = [
        "# Evaluation",
        "",
        "Submissions are validated first: an invalid file fails with every problem as `FILE:LINE: "
        "message` in the scoring log (a missing or duplicate qid, a window with start >= end, a "
        "non-finite number...), exactly as `amr-bench validate` prints them; nothing is scored.",
        "",
        "## Metrics (the official scorer's semantics)",
        "",
        "- Ten IoU thresholds θ = 0.5, 0.55, ..., 0.95; a window hits at θ when its IoU is >= θ "
        "(inclusive), in continuous seconds.",
        "- **R1@θ**: the *first* window of the submitted list (its position, not its score) is paired "
        "with the ground-truth window of highest IoU (the first one on ties); the query is a hit when "
        "that IoU >= θ. R1@θ is the share of queries that hit.",
        "- **mAP@θ**: per query, the first 10 windows, stably sorted by score descending (windows "
        "without scores, or equal scores, keep their list order), matched greedily to unmatched "
        "ground-truth windows; VOC all-point interpolated AP; the mean over queries. **mAP** is the "
        "mean of the ten mAP@θ.",
        "- **Equal IoU.** When two unmatched ground-truth windows have exactly the same IoU with a "
        "prediction, the official code matches whichever numpy's `argsort` puts first, which depends on "
        "the numpy version and the CPU, so such a query's AP can differ between machines. This server "
        "matches the later window first (the official scorer under numpy 1.26, which the DCASE baseline "
        "pins, on a CPU without AVX-512); `amr-bench score` names the queries whose AP depends on it "
        "and gives the mAP under the other order (`--tie-order earlier`).",
        "- Ground-truth windows of zero length or longer than 1500 s are dropped, as the official scorer drops them.",
        '- Values are percentages rounded as the official scorer rounds (`float(f"{100 * v:.2f}")`).',
        "",
        "## Leaderboard",
        "",
        "| column | meaning |",
        "| --- | --- |",
    ]
    meaning = {
        "r1_at_0_7": "R1@0.7, the primary metric (sorted descending)",
        "r1_at_0_5": "R1@0.5",
        "map": "mAP averaged over θ = 0.5 ... 0.95",
        "r1_at_0_7_ci_low": f"lower bound of R1@0.7's 95% percentile bootstrap interval ({resamples} "
        f"resamples of the queries, seed {seed})",
        "r1_at_0_7_ci_high": "upper bound of the same interval",
    }
    lines += [f"| {c.title} | {meaning[c.key]} |" for c in LEADERBOARD]
    lines += [
        "",
        "**Ties.** Entries are ordered by R1@0.7; entries whose R1@0.7 intervals overlap are not "
        "significantly different, whatever their order. amr-bench's own leaderboards break an exact "
        "tie on R1@0.7 by R1@0.5, then mAP, and give equal entries a shared rank.",
        "",
        "## Baseline",
        "",
        "| benchmark | submission | " + " | ".join(c.title for c in LEADERBOARD) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in LEADERBOARD) + " |",
    ]
    for b in benchmarks:
        for label, scores in ((b.example_label, b.example_scores), *b.baselines):
            cells = " | ".join(f"{scores[c.key]:.2f}" for c in LEADERBOARD)
            lines.append(f"| {b.name} | {label} | {cells} |")
    lines += [
        "",
        "The example is the starting kit's valid submission (a control any system should beat); the "
        "other rows, if any, are the organisers' baseline systems, scored by this server's program.",
    ]
    return "\n".join(lines) + "\n"


def data(benchmarks: Sequence[BenchmarkPage]) -> str:
    lines = [
        "# Data and submission format",
        "",
    ]
    for b in benchmarks:
        where = (
            f"the bundled query list `{b.matches_split}` of {REPO_HINT} (`amr-bench datasets ...`; {b.queries} queries)"
            if b.matches_split
            else f"the organisers' query list ({b.queries} queries)"
        )
        lines.append(f"- **{b.name}**: {b.queries} queries over {b.recordings} recordings; the queries are {where}.")
    lines += [
        "",
        "## The submission file",
        "",
        "One JSON object per line, one line per query, UTF-8:",
        "",
        "```json",
        '{"qid": "dcase2026_evaluation_q001", "pred_relevant_windows": [[12.0, 16.0, 0.91], [40.0, 43.0, 0.55]]}',
        "```",
        "",
        "- `qid`: exactly as in the query list (a string stays a string);",
        "- `pred_relevant_windows`: up to 10 windows are scored, best first, each `[start, end]` or "
        "`[start, end, score]` in seconds, with `start < end`, inside the recording.",
        "",
        "Submit a zip holding that one `.jsonl` file, or a DCASE Task 6 package (the zip DCASE asks for, "
        "with the system's `.output.jsonl` and `.meta.yaml`) holding one system.",
    ]
    return "\n".join(lines) + "\n"


def terms(title: str) -> str:
    return (
        f"# Terms of {title}\n\n"
        "- The ground truth of the evaluation set is hidden and stays hidden: do not try to recover it "
        "(probing it through many submissions included). The submission limits per day are there for "
        "that reason.\n"
        "- Submit the output of one system per submission, produced without the evaluation set's "
        "annotations and without listening to or labelling its recordings by hand.\n"
        "- Scores on the leaderboard are public. Cite the benchmark and the data sets it is built on "
        "when you report them.\n"
        "- The organisers may withdraw entries that break these terms.\n"
    )
