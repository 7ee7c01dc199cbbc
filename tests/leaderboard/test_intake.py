"""DCASE package intake on packages in the real DCASE format: what DCASE accepts is accepted, what its
validator rejects is refused with PACKAGE.zip!MEMBER:LINE, unsafe archives are refused before reading."""

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

# dcase_util spelling (affiliation: abbreviation/institute/...), a second author with a list of
# affiliations in the 2026 spelling (institution), a list-valued field, a date in a free field,
# extra complexity keys, external datasets, source_code !!null, template comments.
META = """# DCASE 2026 Task 6 system information
submission:
  label: {label}    # <Lastname>_<Inst>_task6_<n>
  name: Test system {n}
  abbreviation: TS{n}
  authors:
    - lastname: Doe
      firstname: Jane
      email: jane@example.org
      corresponding: true
      affiliation:
        abbreviation: UNI
        institute: Example University
        department: Signal Processing
        location: Tampere, Finland
    - lastname: Roe
      firstname: Rick
      email: rick@example.org
      corresponding: false
      affiliation:
        - institution: Example University
          department: Acoustics
          location: Espoo, Finland
        - institution: Example Lab
system:
  description:
    input_sampling_rate: 44.1kHz
    audio_representation: MS-CLAP 2023 HTSAT embeddings
    text_representation: MS-CLAP 2023 GPT-2
    data_augmentation: [time shift, mixup]
    machine_learning_method: AM-DETR
    external_data_usage: pre-trained model
    submitted: 2026-06-01
  complexity:
    total_parameters: {params}
    MACS: 1.2G
    model_size: 29 MB
  external_datasets:
    - name: Clotho
      url: https://zenodo.org/records/4783391
      total_audio_length: 24 hours
  source_code: !!null
results:
  development_dataset:
    R1@0.5: 40.1
    R1@0.7: 20.2
    mAP: 18.0
"""
PDF = b"%PDF-1.4\n% test report\n"
REPORT = f"task6/{TEAM}_task6.technical_report.pdf"


@pytest.fixture(scope="module")
def gt_records() -> list[dict]:
    gt = load_ground_truth(GT)
    return [{"qid": q, "pred_relevant_windows": [[0.0, 10.0]]} for q in gt.qids]


def _output(records: list[dict]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def meta_name(n: int) -> str:
    return f"task6/{TEAM}_task6_{n}/{TEAM}_task6_{n}.meta.yaml"


def _members(gt_records: list[dict], systems: int = 2) -> dict[str, bytes]:
    files: dict[str, bytes] = {"task6/": b"", REPORT: PDF}
    for n in range(1, systems + 1):
        label = f"{TEAM}_task6_{n}"
        files[f"task6/{label}/"] = b""
        files[f"task6/{label}/{label}.output.jsonl"] = _output(gt_records)
        files[meta_name(n)] = META.format(label=label, n=n, params=1000 * n).encode()
    return files


def _zip(path: Path, files: dict[str, bytes] | list[tuple[str, bytes]]) -> Path:
    items = files.items() if isinstance(files, dict) else files
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in items:
            zf.writestr(name, data)
    return path


def _problems(path: Path, **kw: object) -> list[str]:
    with pytest.raises(InputError) as info:
        intake.check_package(path, load_ground_truth(GT), **kw)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def _edit(files: dict[str, bytes], n: int, old: str, new: str) -> str:
    text = files[meta_name(n)].decode()
    assert old in text
    files[meta_name(n)] = text.replace(old, new).encode()
    return text.replace(old, new)


def test_a_real_format_package_is_ingested_and_idempotent(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records)
    _edit(files, 2, "        institute: Example University", "        institution: Example University")
    pkg = _zip(tmp_path / f"{TEAM}.zip", files)
    gt = load_ground_truth(GT)
    with Store(tmp_path / "b.sqlite") as st:
        checked, stored = intake.ingest(st, pkg, gt, "dcase-like")
        assert [s.added.outcome.version for s in stored] == [1, 1] and all(s.added.status == "ok" for s in stored)
        _, again = intake.ingest(st, pkg, gt, "dcase-like")
        assert [s.added.outcome.created for s in again] == [False, False]
        (group,) = st.groups()
        entries = st.entries(group)
        assert sorted(e.system for e in entries) == [f"{TEAM}_task6_1", f"{TEAM}_task6_2"]
        meta = entries[0].meta
        assert entries[0].team == TEAM and meta["report"] == f"{TEAM}_task6.technical_report.pdf"
        assert meta["submission"]["abbreviation"] == "TS1"
        assert meta["system"]["description"]["submitted"] == "2026-06-01"  # a date stays text
        assert meta["system"]["source_code"] is None
        assert meta["system"]["external_datasets"][0]["name"] == "Clotho"
        assert meta["submission"]["authors"][1]["affiliation"][1] == {"institution": "Example Lab"}
        (info,) = [s for s in st.systems_with_metadata() if s.system == f"{TEAM}_task6_2"]
        assert info.package is not None and info.package.has_report
        assert st.package_report(info.package.package_id) == (f"{TEAM}_task6.technical_report.pdf", PDF)
        summary = info.summary  # one shape for the site, whatever the affiliation spelling
        assert summary is not None and summary.abbreviation == "TS2" and summary.source_code is None
        jane, rick = summary.authors
        assert (jane.name, jane.corresponding) == ("Jane Doe", True)
        assert jane.affiliations == ["Example University, Signal Processing, Tampere, Finland"]
        assert rick.affiliations == ["Example University, Acoustics, Espoo, Finland", "Example Lab"]
        assert summary.complexity["total_parameters"] == 2000 and summary.external_datasets[0]["name"] == "Clotho"
    notes = "\n".join(checked.package.notes)
    assert "task-specific keys kept as given: submitted" in notes
    assert "system/complexity: task-specific keys kept as given: MACS, model_size" in notes
    assert "read as percent" in notes


def test_cli_add_and_ingest_confirm_alike(tmp_path: Path, gt_records: list[dict]) -> None:
    pkg = _zip(tmp_path / f"{TEAM}.zip", _members(gt_records, 1))
    db = str(tmp_path / "b.sqlite")
    run = CliRunner().invoke
    checked = run(app, ["leaderboard", "ingest", str(pkg), "--gt", GT, "--db", db, "--check-only"])
    assert checked.exit_code == 0 and "nothing stored (check only)" in checked.output
    assert not Path(db).exists()
    first = run(app, ["leaderboard", "ingest", str(pkg), "--gt", GT, "--db", db])
    assert first.exit_code == 0, first.output
    assert f"{TEAM}/{TEAM}_task6_1 on {GT} v1: stored; R1@0.7" in first.output
    again = run(app, ["leaderboard", "ingest", str(pkg), "--gt", GT, "--db", db])
    assert f"{TEAM}/{TEAM}_task6_1 on {GT} v1: already stored" in again.output
    out = tmp_path / "run.jsonl"
    out.write_bytes(_output(gt_records))
    added = run(app, ["leaderboard", "add", str(out), "--gt", GT, "--team", "T", "--system", "s", "--db", db])
    assert f"T/s on {GT} v1: stored; R1@0.7" in added.output
    added = run(app, ["leaderboard", "add", str(out), "--gt", GT, "--team", "T", "--system", "s", "--db", db])
    assert f"T/s on {GT} v1: already stored" in added.output


def test_other_tasks_flat_layout_and_other_report_names_are_accepted_with_notes(
    tmp_path: Path, gt_records: list[dict]
) -> None:
    files = _members(gt_records, 1)
    files.update({"task1/Doe_UNI_task1_1/Doe_UNI_task1_1.output.csv": b"x", "task1/report.pdf": b"%PDF-1.4"})
    checked = intake.check_package(_zip(tmp_path / "multi.zip", files), load_ground_truth(GT))
    assert [n for n in checked.package.notes if "task1/" in n] == [
        "multi.zip!task1/: note: 2 file(s) of another task ignored (this is Task 6 intake)"
    ]
    label = f"{TEAM}_task6_1"
    flat = {
        f"{label}.output.jsonl": _output(gt_records),
        f"{label}.meta.yaml": META.format(label=label, n=1, params=5).encode(),
        f"{label}.technical_report.pdf": PDF,
    }
    checked = intake.check_package(_zip(tmp_path / "flat.zip", flat), load_ground_truth(GT))
    notes = "\n".join(checked.package.notes)
    assert "flat layout accepted (no system folders, no task6/ folder)" in notes
    assert f"technical report accepted; DCASE names it task6/{TEAM}_task6.technical_report.pdf" in notes


def test_optional_and_null_fields_and_a_2026_template_without_complexity(
    tmp_path: Path, gt_records: list[dict]
) -> None:
    files = _members(gt_records, 1)
    text = files[meta_name(1)].decode()
    start, end = text.index("  complexity:"), text.index("  external_datasets:")
    files[meta_name(1)] = (text[:start] + text[end:]).replace("source_code: !!null", "source_code:").encode()
    checked = intake.check_package(_zip(tmp_path / "p.zip", files), load_ground_truth(GT))
    assert any("no system/complexity block" in n for n in checked.package.notes)


def test_template_placeholders_null_and_empty_lists_are_accepted_wherever_optional(
    tmp_path: Path, gt_records: list[dict]
) -> None:
    """Real teams' files keep the template's ``- name: !!null`` / ``url: !!null`` placeholders."""
    files = _members(gt_records, 3)
    _edit(
        files,
        1,
        "    - name: Clotho\n      url: https://zenodo.org/records/4783391\n      total_audio_length: 24 hours\n",
        "    - name: !!null\n      url: !!null\n      total_audio_length: !!null\n",
    )
    _edit(files, 2, "        department: Signal Processing", "        department: !!null")
    _edit(files, 2, "        abbreviation: UNI", "        abbreviation:")
    _edit(files, 2, "      corresponding: false", "      corresponding: !!null")
    _edit(files, 2, "    total_parameters: 2000", "    total_parameters: !!null")
    text = _edit(files, 3, "  external_datasets:\n", "  external_datasets: []\n  unused:\n")
    assert "unused:\n    - name: Clotho" in text
    _edit(files, 3, "  source_code: !!null", "  source_code: []")
    _edit(files, 3, "    data_augmentation: [time shift, mixup]", "    data_augmentation: []")
    _edit(files, 3, "    machine_learning_method: AM-DETR", "    machine_learning_method: !!null")
    _edit(files, 3, "        department: Signal Processing", "        department: []")
    _edit(files, 3, "    MACS: 1.2G\n    model_size: 29 MB\n", "")
    _edit(files, 3, "  complexity:\n    total_parameters: 3000\n", "  complexity: []\n")
    pkg = _zip(tmp_path / "p.zip", files)
    with Store(tmp_path / "b.sqlite") as st:
        _, stored = intake.ingest(st, pkg, load_ground_truth(GT), "dcase-like")
        assert len(stored) == 3
        infos = {i.system: i.summary for i in st.systems_with_metadata()}
    one = infos[f"{TEAM}_task6_1"]
    assert one is not None and one.external_datasets == []  # the placeholder means "none"
    three = infos[f"{TEAM}_task6_3"]
    assert three is not None and three.source_code is None and three.description["machine_learning_method"] is None


def test_yaml_1_1_retyping_does_not_change_what_the_team_wrote(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    _edit(files, 1, "        location: Tampere, Finland", "        location: NO")
    _edit(files, 1, "    external_data_usage: pre-trained model", "    external_data_usage: yes\n    version: 1.10")
    _edit(files, 1, "      total_audio_length: 24 hours", "      total_audio_length: 1:30:00")
    _edit(files, 1, "    mAP: 18.0", "    mAP: 18.10")
    pkg = _zip(tmp_path / "p.zip", files)
    with Store(tmp_path / "b.sqlite") as st:
        intake.ingest(st, pkg, load_ground_truth(GT), "dcase-like")
        (entry,) = st.entries(st.groups()[0])
    meta = entry.meta
    assert meta["submission"]["authors"][0]["affiliation"]["location"] == "NO"
    assert meta["system"]["description"]["external_data_usage"] == "yes"
    assert meta["system"]["description"]["version"] == "1.10"
    assert meta["system"]["external_datasets"][0]["total_audio_length"] == "1:30:00"
    assert meta["system"]["complexity"]["total_parameters"] == 1000  # numbers where numbers are meant
    assert meta["results"]["development_dataset"]["mAP"] == 18.1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("      corresponding: true\n", "", "exactly one author is corresponding: true; none has"),
        (
            "      corresponding: false",
            "      corresponding: true",
            "exactly one author is corresponding: true; 2 have",
        ),
        ("abbreviation: TS1", "abbreviation: ElevenChars", "has 11 characters; DCASE allows at most 10"),
        ("      email: rick@example.org\n", "", "'email' is a required property"),
        ("total_parameters: 1000", "total_parameters: 90M", "'90M' is not an integer"),
        ("        institute: Example University\n", "", "an affiliation needs 'institute'"),
        (f"label: {TEAM}_task6_1", f"label: {TEAM}_task6_2", "submission/label is 'Doe_UNI_task6_2' but the file"),
        ("  name: Test system 1\n", "", "'name' is a required property"),
    ],
)
def test_what_the_dcase_validator_rejects_is_refused_at_the_line(
    tmp_path: Path, gt_records: list[dict], old: str, new: str, message: str
) -> None:
    files = _members(gt_records, 1)
    _edit(files, 1, old, new)
    problems = _problems(_zip(tmp_path / "p.zip", files))
    hits = [p for p in problems if message in p]
    assert hits and all(p.startswith(f"p.zip!{meta_name(1)}:") for p in hits), problems


def test_folder_must_equal_the_label(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    label = f"{TEAM}_task6_1"
    renamed = {k.replace(f"task6/{label}/", "task6/system-one/"): v for k, v in files.items()}
    problems = _problems(_zip(tmp_path / "p.zip", renamed))
    assert any("folder 'system-one' differs from the label 'Doe_UNI_task6_1'" in p for p in problems)


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("01", "leading zero (it would alias _1)"),
        ("\u0661", "non-ASCII digits"),
        ("5", "systems _1 to _4"),
        ("1\x01", "control characters"),
    ],
)
def test_system_numbers_that_alias_or_exceed_are_refused(
    tmp_path: Path, gt_records: list[dict], number: str, message: str
) -> None:
    files = _members(gt_records, 1)
    label = f"{TEAM}_task6_{number}"
    files[f"task6/{label}/{label}.output.jsonl"] = _output(gt_records)
    files[f"task6/{label}/{label}.meta.yaml"] = META.format(label=label, n=2, params=1).encode()
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!task6/{label}/{label}.") and message in p for p in problems), problems


def test_two_labels_for_one_system_number_are_refused(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 4)
    files[f"task6/{TEAM}_task6a_1/{TEAM}_task6a_1.output.jsonl"] = b""
    files[f"task6/{TEAM}_task6a_1/{TEAM}_task6a_1.meta.yaml"] = b""
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any("system 1 is also labelled" in p for p in problems)


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("    tags: !!set {a, b}\n", "!!set is not accepted; write a list"),
        ("    base: &b [1, 2]\n    copy: *b\n", "YAML anchor &b is not accepted"),
        ("    '1': again\n    1: one\n", "duplicate key '1'"),
        ("    bad: .nan\n", "not a finite number"),
        ("    deep: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
        ("    note: x\t# a TAB before the comment\n", "a TAB character"),
    ],
)
def test_unsafe_or_non_json_yaml_in_system_2_is_refused_before_anything_is_stored(
    tmp_path: Path, gt_records: list[dict], snippet: str, message: str
) -> None:
    files = _members(gt_records, 2)
    text = _edit(files, 2, "    submitted: 2026-06-01\n", "    submitted: 2026-06-01\n" + snippet)
    first = text.splitlines().index(snippet.splitlines()[0]) + 1
    line = first + (1 if "duplicate" in message else 0)  # a duplicate is found at its second key
    pkg = _zip(tmp_path / "p.zip", files)
    problems = _problems(pkg)
    assert any(p.startswith(f"p.zip!{meta_name(2)}:{line}: error:") and message in p for p in problems), problems
    with Store(tmp_path / "b.sqlite") as st, pytest.raises(InputError):
        intake.ingest(st, pkg, load_ground_truth(GT), "b")
    with Store(tmp_path / "b.sqlite") as st:
        assert st.count_submissions() == 0 and st.packages() == []


def test_non_string_keys_become_text_and_the_package_stores(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 2)
    _edit(files, 2, "    submitted: 2026-06-01\n", "    2026: year\n    true: flag\n    x: y\n")
    with Store(tmp_path / "b.sqlite") as st:
        _, stored = intake.ingest(st, _zip(tmp_path / "p.zip", files), load_ground_truth(GT), "b")
        assert len(stored) == 2
        (entry,) = [e for e in st.entries(st.groups()[0]) if e.system.endswith("_2")]
        assert entry.meta["system"]["description"]["2026"] == "year"


def test_an_alias_bomb_is_refused_without_expanding_it(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    bomb = "".join(f"x{k}: &a{k} [*a{k - 1}, *a{k - 1}, *a{k - 1}, *a{k - 1}]\n" for k in range(1, 30))
    text = "x0: &a0 [lol]\n" + bomb + files[meta_name(1)].decode().replace("  name: Test system 1", "  name: *a29")
    files[meta_name(1)] = text.encode()
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(f"p.zip!{meta_name(1)}:1: error: YAML anchor &a0" in p for p in problems)


def test_over_long_yaml_is_refused(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    files[meta_name(1)] += b"# padding\n" * 20_000
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{meta_name(1)}: error:") and "at most 131072" in p for p in problems)


def test_a_crash_while_storing_system_2_stores_nothing(
    tmp_path: Path, gt_records: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = _zip(tmp_path / "p.zip", _members(gt_records, 2))
    real = intake.store_prepared
    calls = []

    def flaky(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the organiser presses Ctrl-C, or the disk fills up
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "store_prepared", flaky)
    with Store(tmp_path / "b.sqlite") as st:
        with pytest.raises(KeyboardInterrupt):
            intake.ingest(st, pkg, load_ground_truth(GT), "b")
        assert st.count_submissions() == 0 and st.packages() == []


def test_no_temporary_files_are_left_behind(
    tmp_path: Path, gt_records: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    good = _zip(tmp_path / "good.zip", _members(gt_records, 1))
    bad_files = _members(gt_records, 1)
    _edit(bad_files, 1, "abbreviation: TS1", "abbreviation: ElevenChars")
    with Store(tmp_path / "b.sqlite") as st:
        intake.ingest(st, good, load_ground_truth(GT), "b")
        with pytest.raises(InputError):
            intake.ingest(st, _zip(tmp_path / "bad.zip", bad_files), load_ground_truth(GT), "b")
    assert list(scratch.iterdir()) == []


def test_duplicate_member_names_are_refused(tmp_path: Path, gt_records: list[dict]) -> None:
    files = list(_members(gt_records, 1).items())
    name = f"task6/{TEAM}_task6_1/{TEAM}_task6_1.output.jsonl"
    files.append((name, b'{"qid": 1, "pred_relevant_windows": [[0, 1]]}\n'))
    with pytest.warns(UserWarning, match="Duplicate name"):
        pkg = _zip(tmp_path / "p.zip", files)
    problems = _problems(pkg)
    assert any(p.startswith(f"p.zip!{name}: error: the archive holds two members of this name") for p in problems)


def test_member_names_longer_than_a_file_system_allows_are_refused(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    long_name = "task6/" + "a" * 300 + ".txt"
    files[long_name] = b"x"
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{long_name}: error: member name longer") for p in problems)


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
    files.update({f"junk/{k}.txt": b"" for k in range(300)})
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any("members; a package holds at most 256" in p for p in problems)


def test_bad_yaml_reports_the_line(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    _edit(files, 1, "  authors:\n", "  authors: [unclosed\n")
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{meta_name(1)}:") and "invalid YAML" in p for p in problems)


def test_bad_jsonl_line_is_reported_with_member_and_line(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 1)
    name = f"task6/{TEAM}_task6_1/{TEAM}_task6_1.output.jsonl"
    lines = files[name].split(b"\n")
    lines[2] = b'{"qid": "x", "pred_relevant_windows": [[0, 1]'
    files[name] = b"\n".join(lines)
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(p.startswith(f"p.zip!{name}:3: error:") for p in problems)


def test_missing_pieces_are_named(tmp_path: Path, gt_records: list[dict]) -> None:
    files = _members(gt_records, 2)
    del files[REPORT]
    del files[meta_name(2)]
    files["task6/Other_LAB_task6_3/Other_LAB_task6_3.output.jsonl"] = b""
    files["task6/results.json"] = b"{}"
    problems = _problems(_zip(tmp_path / "p.zip", files))
    assert any(f"no technical report (task6/{TEAM}_task6.technical_report.pdf" in p for p in problems)
    assert any(f"{TEAM}_task6_2.output.jsonl: error: no {TEAM}_task6_2.meta.yaml beside it" in p for p in problems)
    assert any("labels name different submitters" in p for p in problems)
    assert any("p.zip!task6/results.json: warning: unexpected file ignored" in p for p in problems)


def test_not_a_zip_and_fake_pdf(tmp_path: Path, gt_records: list[dict]) -> None:
    junk = tmp_path / "p.zip"
    junk.write_bytes(b"not a zip")
    (problem,) = _problems(junk)
    assert problem.startswith("p.zip: error: not a readable zip archive")
    files = _members(gt_records, 1)
    files[REPORT] = b"<html>"
    assert any("not a PDF" in p for p in _problems(_zip(tmp_path / "q.zip", files)))


def test_member_not_matching_its_declared_size_is_stopped(tmp_path: Path) -> None:
    pkg = _zip(tmp_path / "p.zip", {"a.txt": b"a" * 5000})
    infos = intake.check_archive(pkg)
    infos[0].file_size = 100  # a lying header
    with pytest.raises(InputError) as info:
        intake.read_members(pkg, infos)
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


def test_the_example_package_in_submissions_is_accepted(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    example = root / "submissions" / "example_package"
    run = root / "amr_bench" / "data" / "reference_runs" / "qddetr_castella_val_preds.jsonl"
    label = "Doe_UNI_task6_1"
    files = {str(p.relative_to(example)): p.read_bytes() for p in sorted(example.rglob("*")) if p.is_file()}
    files[f"task6/{label}/{label}.output.jsonl"] = run.read_bytes()
    files["task6/Doe_UNI_task6.technical_report.pdf"] = PDF
    checked = intake.check_package(_zip(tmp_path / "Doe_UNI.zip", files), load_ground_truth("castella/val"))
    (system,) = checked.systems
    assert system.system.meta["submission"]["label"] == label
    assert system.prepared.metrics["R1@0.7"] == pytest.approx(0.1619, abs=5e-5)  # the reference run's score
