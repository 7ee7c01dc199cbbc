"""The organiser's workflow on the command line: a failed later attempt never hides a valid version;
versions, withdraw, restore, remove-version and audit; read-only commands leave the store file as it was."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import orjson
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.groundtruth import load_ground_truth

GT = "unav100-subset/test"
OLD_STORE = Path(__file__).resolve().parents[1] / "data" / "store_schema_v2.db"


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def _rank(db: str) -> tuple[int, str]:
    """``leaderboard rank``: the table alone (stdout; its notes go to stderr)."""
    res = CliRunner().invoke(app, ["leaderboard", "rank", "--db", db, "--resamples", "100"])
    assert "Traceback" not in res.output
    return res.exit_code, res.stdout


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_organiser_workflow(tmp_path: Path) -> None:
    db = str(tmp_path / "board.sqlite")
    qids = load_ground_truth(GT).qids
    good = tmp_path / "good.jsonl"
    good.write_bytes(b"".join(orjson.dumps({"qid": q, "pred_relevant_windows": [[0, 10]]}) + b"\n" for q in qids))
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(good.read_bytes() + b"{not json\n")
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"".join(orjson.dumps({"qid": q, "pred_relevant_windows": [[0, 5]]}) + b"\n" for q in qids))
    assert _run("leaderboard", "add", str(good), "--gt", GT, "--team", "T", "--system", "s", "--db", db)[0] == 0
    assert _run("leaderboard", "add", str(other), "--gt", GT, "--team", "U", "--system", "u", "--db", db)[0] == 0
    code, out = _run("leaderboard", "add", str(broken), "--gt", GT, "--team", "T", "--system", "s", "--db", db)
    assert code == 1 and "recorded as a failed attempt" in out

    code, out = _rank(db)
    assert code == 0, out
    rows = [line.split() for line in out.splitlines()[2:]]
    assert rows[-1][2:5] == ["T/s", "INVALID", "(v2)"]  # the failed attempt is shown...
    assert any(r[2] == "T/s" and r[0] in ("1", "2", "1=") for r in rows[:-1])  # ...and v1 still ranks

    before = _digest(Path(db))
    code, out = _run("leaderboard", "versions", "T/s", "--db", db)
    assert code == 0 and "v1" in out and "v2" in out and "invalid" in out and "amr-bench" in out
    assert _digest(Path(db)) == before

    code, out = _run(
        "leaderboard", "withdraw", "T/s", "--version", "1", "--reason", "disqualified", "--by", "chair", "--db", db
    )
    assert code == 0 and "T/s unav100-subset/test v1: withdrawn" in out
    code, out = _rank(db)
    assert "T/s" in out.splitlines()[-1] and "INVALID" in out.splitlines()[-1]
    assert _run("leaderboard", "versions", "s", "--db", db)[1].count("ok, withdrawn") == 1
    code, out = _run("leaderboard", "restore", "T/s", "--version", "1", "--reason", "appeal", "--db", db)
    assert code == 0 and "restored" in out
    code, out = _run("leaderboard", "remove-version", "T/s", "--version", "2", "--reason", "noise", "--db", db)
    assert code == 0 and "removed (1 stored result(s))" in out
    code, out = _run("leaderboard", "withdraw", "U/u", "--reason", "left the challenge", "--db", db)
    assert code == 0
    code, out = _rank(db)
    assert "U/u" not in out and "INVALID" not in out and "T/s" in out

    code, out = _run("leaderboard", "audit", "--db", db)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 5
    assert "chair" in lines[1] and "withdraw" in lines[1] and "disqualified" in lines[1]
    assert "remove" in lines[3] and "(all)" in lines[4]

    code, out = _run("leaderboard", "withdraw", "T/nope", "--reason", "x", "--db", db)
    assert code == 2 and "no system 'T/nope'" in out
    code, out = _run("leaderboard", "withdraw", "T/s", "--version", "7", "--reason", "x", "--db", db)
    assert code == 2 and "--version 7: no such version of this system; its versions: 1 " in out


def test_read_only_commands_on_an_old_store_leave_the_file_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    shutil.copyfile(OLD_STORE, db)
    before = _digest(db)
    code, out = _run("leaderboard", "rank", "--db", str(db), "--resamples", "100")
    assert code == 0, out
    assert out.count("== unav100-subset/test") == 1  # two package versions, one table
    for args in (["versions"], ["audit"], ["render", "--out", str(tmp_path / "site"), "--resamples", "100"]):
        code, out = _run("leaderboard", *args, "--db", str(db))
        assert code == 0, out
    assert _digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite", "site"]
