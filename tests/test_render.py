"""The static site: escaping of untrusted names, byte-identical re-render, raw sort keys, no requests."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from amr_bench.leaderboard.ranking import RankSettings
from amr_bench.leaderboard.render import page_key, render_site
from amr_bench.leaderboard.store import Store

EVIL = "<script>alert('x')</script>"
THETAS = ("0.5", "0.55", "0.6", "0.65", "0.7", "0.75", "0.8", "0.85", "0.9", "0.95")


def build_board(path: Path, q: int = 200) -> Path:
    """A store whose R1@0.7 values (100%, 10.5%, 9.5%, 9.5%) sort differently as display strings."""
    rng = np.random.default_rng(0)
    sig = {"scorer": "amr-bench test", "metric": "m1", "length_edges": [10.0, 30.0]}
    hits = {"A": q, "B": 21, "C": 19, "D": 19}
    with Store(path) as st:
        for k, (team, n) in enumerate(hits.items()):
            r1 = np.zeros(q)
            r1[rng.choice(q, n, replace=False)] = 1
            cols = {"R1@0.7": r1, "R1@0.5": r1, "mAP": r1 * 0.8, "gt_max_len": rng.uniform(1, 60, q)}
            cols.update({f"AP@{t}": r1 * (1 - j / 12) for j, t in enumerate(THETAS)})
            metrics = {f"mAP@{t}": float(cols[f"AP@{t}"].mean()) for t in THETAS}
            metrics.update(
                {"len.short.R1@0.7": 0.5, "len.short.queries": 50.0, "len.short.lo": 0.0, "len.short.hi": 10.0}
            )
            name = EVIL if team == "C" else f"system {team}"
            st.add(
                team=f"team {team}" if team != "D" else f"{EVIL} & co",
                system=name,
                benchmark="castella/test",
                sha256=f"sha{team}",
                size=10 + k,
                file_name=f"{team}.jsonl",
                gt_sha256="f" * 64,
                signature={**sig, "submission_sha256": f"sha{team}"},
                qids=[f"q{i}" for i in range(q)],
                per_query=cols,
                metrics=metrics,
                added_at=f"2026-03-0{k + 1}T10:00:00Z",
                baseline=team == "B",
            )
        st.add(
            team="broken team",
            system="broken",
            benchmark="castella/test",
            sha256="bad",
            size=1,
            file_name="bad.jsonl",
            gt_sha256="f" * 64,
            signature=sig,
            status="invalid",
            problems=[f"bad.jsonl:3: error: {EVIL}"],
            added_at="2026-03-09T10:00:00Z",
        )
    return path


def test_every_page_is_written_and_names_are_escaped(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        files = render_site(st, tmp_path / "site", RankSettings(resamples=200))
    names = sorted(f.name for f in files)
    for page in (
        "index.html",
        "castella.html",
        "clotho-moment.html",
        "unav100-subset.html",
        "tut2017.html",
        "dcase2026.html",
    ):
        assert page in names
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # only the page's own sorting script
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in html
    for f in (f for f in files if f.suffix == ".html"):
        text = f.read_text("utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text), f.name
        assert "ground truth" in text.lower() or f.name != "castella.html"
        assert "amr-bench 0.1" in text or "amr-bench test" in text  # provenance footer


def test_rows_carry_raw_values_ranks_tiers_and_failed_last(tmp_path: Path) -> None:
    with Store(build_board(tmp_path / "b.sqlite")) as st:
        render_site(st, tmp_path / "site", RankSettings(resamples=200))
    html = (tmp_path / "site" / "castella.html").read_text("utf-8")
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    rows = re.findall(r"<tr (.*?)</tr>", body, re.S)
    assert len(rows) == 5
    assert 'data-failed="1"' in rows[-1] and "broken" in rows[-1]
    first_cells = [re.findall(r'<td[^>]*data-v="([^"]*)"', r)[0] for r in rows]
    assert first_cells == ["1", "2", "3", "3", ""]  # C and D tie on every key
    r07 = [re.findall(r'<td data-v="([^"]*)"', r)[2] for r in rows[:4]]
    assert [float(v) for v in r07] == [1.0, 21 / 200, 19 / 200, 19 / 200]
    assert r07[1] == repr(21 / 200)  # full precision, not the 2-decimal display
    assert 'class="tie"' in rows[2] and 'class="tie"' in rows[3]
    assert "[" in rows[0] and "<svg" in html and "forest" not in EVIL
    assert "f" * 64 in html  # ground-truth hash in the provenance block


def test_rerender_is_byte_identical(tmp_path: Path) -> None:
    db = build_board(tmp_path / "b.sqlite")
    with Store(db) as st:
        first = {f.name: f.read_bytes() for f in render_site(st, tmp_path / "one", RankSettings(resamples=200))}
    with Store(db) as st:  # reopened: nothing may depend on the process or the clock
        second = {f.name: f.read_bytes() for f in render_site(st, tmp_path / "two", RankSettings(resamples=200))}
    assert first == second
    with Store(db) as st:
        other_seed = render_site(st, tmp_path / "three", RankSettings(resamples=200, seed=1))
    assert (tmp_path / "three" / "castella.html").read_bytes() != first["castella.html"]
    assert other_seed


def test_page_keys() -> None:
    assert page_key("castella/test") == "castella"
    assert page_key("dcase2026-eval") == "dcase2026"
    assert page_key("clotho-moment/val") == "clotho-moment"
    assert page_key("my data/x") == "my-data"
