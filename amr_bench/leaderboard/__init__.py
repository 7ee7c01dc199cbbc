"""The leaderboard: result store (SQLite), DCASE package intake, ranking, static HTML pages, demo.

Modules are imported on use; ``amr_bench.leaderboard`` itself imports nothing heavy.
"""
