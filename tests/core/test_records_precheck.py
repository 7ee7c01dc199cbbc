"""The vectorised pre-check never accepts a line the JSON Schema rejects (differential test)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from amr_bench.records import GROUND_TRUTH, SUBMISSION, _Flat, _windows_look_valid, parse_records
from amr_bench.schemas import validator

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 50), st.floats(-5, 50, allow_nan=False), st.text(max_size=3)
)
windows = st.lists(
    st.one_of(
        st.lists(
            st.one_of(st.integers(0, 50), st.floats(0, 50, allow_nan=False), st.text(max_size=2), st.booleans()),
            max_size=4,
        ),
        scalars,
    ),
    max_size=4,
)
keys = st.sampled_from(
    ["qid", "query", "vid", "duration", "pred_relevant_windows", "relevant_windows", "extra", "pred_saliency_scores"]
)
values = st.one_of(scalars, windows)
numbers = st.one_of(st.integers(0, 50), st.floats(0, 50, allow_nan=False))
plausible = st.fixed_dictionaries(
    {
        "qid": st.one_of(st.integers(), st.text(max_size=3)),
        "pred_relevant_windows": st.lists(st.lists(numbers, min_size=2, max_size=3), min_size=0, max_size=3),
        "relevant_windows": st.lists(st.lists(numbers, min_size=2, max_size=3), max_size=3),
    },
    optional={"query": scalars, "vid": scalars, "duration": scalars, "extra": scalars},
)
records = st.one_of(st.dictionaries(keys, values, max_size=6), plausible, scalars, windows)


@settings(max_examples=1500)
@given(st.lists(records, min_size=1, max_size=5))
def test_precheck_accepts_only_schema_valid_lines(recs):
    for spec in (SUBMISSION, GROUND_TRUTH):
        quick = [spec.quick_check(r) for r in recs]
        wins = [
            r.get(spec.windows_field, []) if q and spec.windows_field in r else []
            for r, q in zip(recs, quick, strict=True)
        ]
        accepted = [q and w for q, w in zip(quick, _windows_look_valid(_Flat(wins), spec.arities), strict=True)]
        for r, ok in zip(recs, accepted, strict=True):
            if ok:
                assert validator(spec.schema).is_valid(r), (spec.schema, r)
        if spec.all_quick(recs):  # the all-at-once check agrees with the per-record one
            assert all(quick), (spec.schema, recs)
        parsed = parse_records(recs, list(range(1, len(recs) + 1)), "f", spec)
        for r, kept in zip(recs, parsed.keep, strict=True):
            assert bool(kept) == validator(spec.schema).is_valid(r), (spec.schema, r)
