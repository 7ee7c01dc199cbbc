"""Baselines for audio moment retrieval (the ``baselines`` extra: torch, msclap).

Nothing here is imported by ``amr_bench`` itself; the CLI imports these modules lazily.
"""
