"""The bounded YAML reader: round trip of JSON-like data, and for any bytes either JSON-serialisable
data or a located YamlProblem (never another exception)."""

from __future__ import annotations

import json

import yaml
from hypothesis import given
from hypothesis import strategies as st

from amr_bench.leaderboard import dcase_meta, safe_yaml

# printable text without line separators (PyYAML's dumper folds NEL and friends, which is not ours to test)
text = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x85\ufeff"))
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


@given(json_like)
def test_json_like_data_round_trips(data: object) -> None:
    text = yaml.safe_dump({"value": data}, allow_unicode=True)
    loaded, _ = safe_yaml.load(text.encode("utf-8"))
    assert loaded == {"value": data}


yaml_ish = st.lists(
    st.sampled_from(
        [
            "a:",
            " ",
            "\n",
            "- ",
            "&x ",
            "*x ",
            "!!set ",
            "{",
            "}",
            "[",
            "]",
            "'",
            '"',
            "#",
            "\t",
            "1",
            ".nan",
            "~",
            "2026-06-01",
            "? ",
            ": ",
        ]
    ),
    max_size=40,
).map("".join)


@given(st.binary(max_size=200) | yaml_ish.map(str.encode))
def test_any_bytes_give_json_data_or_a_located_problem(data: bytes) -> None:
    try:
        loaded, _ = safe_yaml.load(data)
    except safe_yaml.YamlProblem as exc:
        assert exc.message and (exc.line is None or exc.line >= 1)
        return
    json.dumps(loaded, allow_nan=False)  # never NaN, dates, sets or non-string keys


@given(yaml_ish.map(str.encode))
def test_meta_check_never_raises(data: bytes) -> None:
    label = dcase_meta.parse_label("Doe_UNI_task6_1")
    assert isinstance(label, dcase_meta.Label)
    result = dcase_meta.check_meta(data, "p.zip!m.meta.yaml", label)
    assert result.data is not None or result.problems


def test_yaml_1_2_core_typing_and_text_positions() -> None:
    from amr_bench.leaderboard import safe_yaml

    data, _ = safe_yaml.load(b"a: NO\nb: 1:30:00\nc: 1.10\nd: on\ne: !!null\nf: ~\ng: 0123\nh: True\ni: 1e3\n")
    assert data == {
        "a": "NO",
        "b": "1:30:00",
        "c": 1.1,
        "d": "on",
        "e": None,
        "f": None,
        "g": 123,
        "h": True,
        "i": 1000.0,
    }
    data, _ = safe_yaml.load(b"v: 1.10\nr: {x: 41.10, n: 3}\n", numeric=lambda path: path[:1] == ("r",))
    assert data == {"v": "1.10", "r": {"x": 41.1, "n": 3}}
