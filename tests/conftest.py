"""Shared test set-up: no network for model hubs, fixed hypothesis profile."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from hypothesis import HealthCheck, settings

settings.register_profile("amr", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.load_profile("amr")
