"""Text chosen by someone else on its way to a terminal, a page or the store's identities:
escaped in every message, hidden characters refused, one normal form, one name rule."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.errors import UsageError
from amr_bench.leaderboard.store import MAX_NAME_CHARS, Store
from amr_bench.names import check_name
from amr_bench.terminal import printable
from tests.leaderboard.test_intake import GT, PDF, _edit, _members, _output, _zip, meta_name
from tests.leaderboard.test_intake import gt_records as gt_records
from tests.leaderboard.test_store import _add

ESC = "\x1b[2J\x1b[31m"


def _ingest(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, ["leaderboard", "ingest", *args])
    return res.exit_code, res.output


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    assert printable("Team\u202eevil\u200b\x1b[2J\r\x07\x85 ok é 名") == (
        "Team\\u202eevil\\u200b\\x1b[2J\\x0d\\x07\\x85 ok é 名"
    )
    assert printable("plain text, C:\\path") == "plain text, C:\\path"


def test_control_characters_in_a_zip_member_name_are_escaped(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files[f"task6/{ESC}evil\rfake.txt"] = b"x"
    code, out = _ingest(str(_zip(tmp_path / "p.zip", files)), "--gt", GT, "--check-only")
    assert code == 0, out
    assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[2J" in out and "unexpected file ignored" in out


def test_control_characters_in_a_yaml_key_are_refused_and_escaped(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    _edit(files, 1, "    input_sampling_rate: 44.1kHz", '    "\\e[2Jsampling\\u202e": 44.1kHz')
    code, out = _ingest(str(_zip(tmp_path / "p.zip", files)), "--gt", GT, "--check-only")
    assert code == 1, out
    assert "\x1b" not in out and "\u202e" not in out
    assert f"{meta_name(1)}:" in out and "the key contains a control character (U+001B" in out


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("  name: Test system 1", "  name: Test \u202emetsys", "right-to-left"),
        ("      firstname: Jane", "      firstname: Ja\u200bne", "zero-width"),
        ("        institute: Example University", "        institute: Example\u2066 University", "right-to-left"),
    ],
)
def test_hidden_characters_in_meta_names_are_refused_at_their_line(
    tmp_path: Path, gt_records: list[dict], old: str, new: str, what: str
) -> None:
    files = _members(gt_records, 1)
    text = _edit(files, 1, old, new)
    line = text.splitlines().index(new) + 1
    code, out = _ingest(str(_zip(tmp_path / "p.zip", files)), "--gt", GT, "--check-only")
    assert code == 1, out
    assert f"{meta_name(1)}:{line}: error:" in out and what in out


def test_line_breaks_in_a_free_text_value_are_still_accepted(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    _edit(files, 1, "    machine_learning_method: AM-DETR", '    machine_learning_method: "AM-DETR\\nwith\\ttabs"')
    code, out = _ingest(str(_zip(tmp_path / "p.zip", files)), "--gt", GT, "--check-only")
    assert code == 0, out


def test_a_team_in_nfc_and_nfd_is_one_team(tmp_path: Path) -> None:
    nfc, nfd = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    assert nfc != nfd
    with Store(tmp_path / "b.sqlite") as st:
        _add(st, nfc, "Sys\u00e9me", "a" * 64, np.ones(3))
        again = _add(st, nfd, unicodedata.normalize("NFD", "Sys\u00e9me"), "a" * 64, np.ones(3))
        assert not again.created  # the same file of the same system
        _add(st, nfd, "other", "b" * 64, np.ones(3))
        assert {v.team for v in st.versions()} == {nfc}
        assert len(st.versions(team=nfd)) == 2
    assert check_name(nfd) == nfc


def test_a_package_in_nfd_matches_its_nfc_meta(tmp_path: Path, gt_records: list[dict]) -> None:
    team = unicodedata.normalize("NFD", "Doé_UNI")
    label = f"{team}_task6_1"
    meta = (
        _members(gt_records, 1)[meta_name(1)].decode().replace("Doe_UNI_task6_1", unicodedata.normalize("NFC", label))
    )
    files = {
        f"task6/{team}_task6.technical_report.pdf": PDF,
        f"task6/{label}/{label}.output.jsonl": _output(gt_records),
        f"task6/{label}/{label}.meta.yaml": meta.encode(),
    }
    db = tmp_path / "b.sqlite"
    code, out = _ingest(str(_zip(tmp_path / "p.zip", files)), "--gt", GT, "--db", str(db))
    assert code == 0, out
    with Store(db) as st:
        assert {v.team for v in st.versions()} == {unicodedata.normalize("NFC", "Doé_UNI")}


@pytest.mark.parametrize("name", ["Team\u202eevil", "zero\u200bwidth", "bom\ufeff", "join\u200dx"])
def test_the_store_refuses_hidden_characters_in_names(tmp_path: Path, name: str) -> None:
    with Store(tmp_path / "b.sqlite") as st, pytest.raises(UsageError, match="U\\+"):
        _add(st, name, "s", "a" * 64, np.ones(3))


def test_check_only_refuses_exactly_what_a_real_ingest_refuses(tmp_path: Path, gt_records: list[dict]) -> None:
    team = "D" * (MAX_NAME_CHARS - 6) + "_UNI"  # the team fits, its labels do not
    label = f"{team}_task6_1"
    meta = _members(gt_records, 1)[meta_name(1)].decode().replace("Doe_UNI_task6_1", label)
    files = {
        f"task6/{team}_task6.technical_report.pdf": PDF,
        f"task6/{label}/{label}.output.jsonl": _output(gt_records),
        f"task6/{label}/{label}.meta.yaml": meta.encode(),
    }
    pkg = str(_zip(tmp_path / "p.zip", files))
    db = tmp_path / "b.sqlite"
    check_code, check_out = _ingest(pkg, "--gt", GT, "--check-only")
    real_code, real_out = _ingest(pkg, "--gt", GT, "--db", str(db))
    assert (check_code, real_code) == (1, 1), (check_out, real_out)
    assert f"at most {MAX_NAME_CHARS}" in check_out and f"at most {MAX_NAME_CHARS}" in real_out
    if db.exists():
        with Store(db) as st:
            assert st.count_submissions() == 0
