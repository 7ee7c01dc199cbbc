"""Codabench competition bundles that score with amr-bench (a permanent home for a blind evaluation set).

- :mod:`amr_bench.codabench.bundle` writes the bundle (``competition.yaml`` version 2, pages, one
  task and phase per benchmark, the hidden ground truth as reference data, the scoring program with
  the wheels it installs, a starting kit);
- :mod:`amr_bench.codabench.worker` is what the scoring program runs on a Codabench worker: find
  the participant's file under ``input/res``, validate and score it with amr-bench, write
  ``scores.json`` and ``detailed_results.html``;
- :mod:`amr_bench.codabench.competition` checks a ``competition.yaml`` against what Codabench's
  version 2 unpacker requires;
- :mod:`amr_bench.codabench.pages` writes the pages from what amr-bench knows.
"""
