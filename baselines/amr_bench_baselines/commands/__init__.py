"""The baselines' commands on the ``amr-bench`` command line.

amr-bench's core never imports this package: it finds these modules through the
``amr_bench.commands`` entry point group (see ``pyproject.toml``) and imports them, and each
registers its commands on the shared typer app. Importing them stays light: torch and msclap are
imported inside the command functions only.
"""
