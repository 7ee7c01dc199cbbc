"""DCASE package intake: every rejection, with file:line problems, and a clean ingest."""

from __future__ import annotations

import zipfile
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.errors import InputError
from amr_bench.groundtruth import load_ground_truth
from amr_bench.leaderboard import intake
from amr_bench.leaderboard.store import Store

GT = "unav100-subset/test"
TEAM = "Doe_UNI"

META = """submission:
  label: {label}
  name: Test system {n}
  abbreviation: TS{n}
  authors:
    - lastname: Doe
      firstname: Jane
      email: jane@example.org
      affiliation:
        institution: University
system:
  description:
    feature_extractor:
      audio: MS-CLAP 2023 HTSAT
      text: MS-CLAP 2023 GPT-2
    architecture: AM-DETR
  complexity:
    total_parameters: {params}
results:
  development_dataset:
    R1@0.5: 40.1
    R1@0.7: 20.2
    mAP: 18.0
"""
PDF = b"%PDF-1.4\n% test report\n"


@pytest.fixture(scope="module")
def gt_records() -> list[dict]:
    gt = load_ground_truth(GT)
    return [{"qid": q, "pred_relevant_windows": [[0.0, 10.0]]} for q in gt.qids]


def _output(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def _members(gt_records: list[dict], systems: int = 2) -> dict[str, bytes]:
    files: dict[str, bytes] = {f"{TEAM}_task6_technical_report.pdf": PDF}
    for n in range(1, systems + 1):
        label = f"{TEAM}_task6_{n}"
        files[f"{label}/{label}.output.jsonl"] = _output(gt_records)
        files[f"{label}/{label}.meta.yaml"] = META.format(label=label, n=n, params=1000 * n).encode()
    return files


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _problems(path: Path, **kw: object) -> list[str]:
    gt = load_ground_truth(GT)
    with pytest.raises(InputError) as info:
        intake.ingest(None, path, gt, "unav100-subset/test", check_only=True, **kw)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_valid_package_is_ingested_and_idempotent(tmp_path: Path, gt_records: list[dict]) -> None:
    pkg = _zip(tmp_path / f"{TEAM}_task6.zip", _members(gt_records))
    gt = load_ground_truth(GT)
    with Store(tmp_path / "b.sqlite") as st:
        added = intake.ingest(st, pkg, gt, "dcase-like")
        assert [a.outcome.version for a in added] == [1, 1] and all(a.status == "ok" for a in added)
        again = intake.ingest(st, pkg, gt, "dcase-like")
        assert [a.outcome.created for a in again] == [False, False]
        (group,) = st.groups()
        entries = st.entries(group)
        assert sorted(e.system for e in entries) == [f"{TEAM}_task6_1", f"{TEAM}_task6_2"]
        assert entries[0].team == TEAM
        assert entries[0].meta["submission"]["abbreviation"] == "TS1"
        assert entries[0].meta["report"] == f"{TEAM}_task6_technical_report.pdf"


def test_path_traversal_is_rejected_before_extraction(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files["../../evil.txt"] = b"x"
    pkg = _zip(tmp_path / "p.zip", files)
    problems = _problems(pkg)
    assert any("p.zip!../../evil.txt: error: path traversal" in p for p in problems)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_absolute_path_and_symlink_are_rejected(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files["/etc/passwd_copy"] = b"x"
    pkg = _zip(tmp_path / "p.zip", files)
    with zipfile.ZipFile(pkg, "a") as zf:
        link = zipfile.ZipInfo("link.txt")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    problems = _problems(pkg)
    assert any("absolute path" in p for p in problems)
    assert any("p.zip!link.txt: error: symbolic link" in p for p in problems)


def test_zip_bomb_ratio_and_sizes_are_rejected(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files["bomb.bin"] = b"\0" * (4 << 20)
    pkg = _zip(tmp_path / "p.zip", files)
    problems = _problems(pkg)
    assert any("p.zip!bomb.bin: error: compression ratio" in p and "zip bomb" in p for p in problems)
    small = intake.ArchiveLimits(max_total_bytes=1000, max_member_bytes=500)
    problems = _problems(pkg, limits=small)
    assert any("at most 500 per file" in p for p in problems)
    assert any("in total; at most 1000" in p for p in problems)


def test_too_many_members_are_rejected(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files.update({f"junk/{k}.txt": b"" for k in range(40)})
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any("members; a package holds at most 32" in p for p in problems)


def test_five_systems_are_rejected(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 5)
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any("system number 5" in p for p in problems)
    assert any("5 systems; at most 4" in p for p in problems)


def test_bad_yaml_reports_the_line(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    name = f"{TEAM}_task6_1/{TEAM}_task6_1.meta.yaml"
    lines = files[name].decode().splitlines()
    lines[4] = "  authors: [unclosed"
    files[name] = "\n".join(lines).encode()
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{name}:") and "invalid YAML" in p for p in problems)


def test_schema_errors_point_at_the_yaml_line(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    name = f"{TEAM}_task6_1/{TEAM}_task6_1.meta.yaml"
    text = files[name].decode().replace("total_parameters: 1000", "total_parameters: lots")
    text = text.replace(f"label: {TEAM}_task6_1", f"label: {TEAM}_task6_3")
    files[name] = text.encode()
    problems = _problems(_zip(tmp_path / "p.zip", files))
    line = text.splitlines().index("    total_parameters: lots") + 1
    assert (
        f"p.zip!{name}:{line}: error: system/complexity/total_parameters: 'lots' is not of type 'integer'" in problems
    )
    assert any(f"p.zip!{name}:2: error: submission/label is" in p for p in problems)


def test_bad_jsonl_line_is_reported_with_member_and_line(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    name = f"{TEAM}_task6_1/{TEAM}_task6_1.output.jsonl"
    lines = files[name].split(b"\n")
    lines[2] = b'{"qid": "x", "pred_relevant_windows": [[0, 1]'
    files[name] = b"\n".join(lines)
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{name}:3: error:") for p in problems)


def test_missing_pieces_are_named(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 2)
    del files[f"{TEAM}_task6_technical_report.pdf"]
    del files[f"{TEAM}_task6_2/{TEAM}_task6_2.meta.yaml"]
    files["Other_LAB_task6_3.output.jsonl"] = b""
    files["notes.txt"] = b"hello"
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any("no technical report" in p for p in problems)
    assert any(f"{TEAM}_task6_2.output.jsonl: error: no matching" in p for p in problems)
    assert any("different submitters" in p for p in problems)
    assert any("p.zip!notes.txt: error: unexpected file" in p for p in problems)


def test_not_a_zip_and_fake_pdf(tmp_path: Path, gt_records: list[dict]) -> None:
    junk = tmp_path / "p.zip"
    junk.write_bytes(b"not a zip")
    assert _problems(junk) == ["p.zip: error: not a zip archive"]
    files = _members(gt_records, 1)
    files[f"{TEAM}_task6_technical_report.pdf"] = b"<html>"
    assert any("not a PDF" in p for p in _problems(_zip(tmp_path / "q.zip", files)))


def test_member_not_matching_its_declared_size_is_stopped(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "p.zip", {"a.txt": b"a" * 5000})
    infos = intake.check_archive(pkg)
    infos[0].file_size = 100  # a lying header
    with pytest.raises(InputError) as info:
        intake.extract_checked(pkg, infos, tmp_path)
    assert "p.zip!a.txt" in str(info.value.problems[0])
    assert "declared size" in str(info.value.problems[0]) or "does not match" in str(info.value.problems[0])


def test_cli_ingest_rejects_and_stores_nothing(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files["../x"] = b""
    pkg = _zip(tmp_path / "p.zip", files)
    db = tmp_path / "b.sqlite"
    res = CliRunner().invoke(app, ["leaderboard", "ingest", str(pkg), "--gt", GT, "--db", str(db)])
    assert res.exit_code == 1
    assert "path traversal" in res.output and "Traceback" not in res.output
    good = _zip(tmp_path / "good.zip", _members(gt_records, 1))
    res = CliRunner().invoke(app, ["leaderboard", "ingest", str(good), "--gt", GT, "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store(db) as st:
        assert st.count_submissions() == 1
