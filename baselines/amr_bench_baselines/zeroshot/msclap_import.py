"""The one place that imports ``msclap`` (MS-CLAP 2023), coping with a missing ``torchaudio``.

``import msclap`` imports ``torchaudio`` at module import time, and no CPU torchaudio exists for
the torch this project pins. msclap only needs torchaudio for its own file loading and resampling,
which this project does itself (:mod:`amr_bench_baselines.zeroshot.resample`). So, when ``import
torchaudio`` fails, an empty stand-in is put in ``sys.modules`` for the duration of msclap's import
only and removed again afterwards; transformers is imported *before* that, so it never sees the
stand-in. Nothing in site-packages is edited.

Only the full model needs msclap (``features extract``, ``--reencode-text``, raw-audio
sliding-clap); the projection heads are read without it (:mod:`amr_bench_baselines.zeroshot.projection_heads_torch`).
"""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

from amr_bench.errors import UsageError

_msclap: types.SimpleNamespace | None = None


def msclap_modules() -> types.SimpleNamespace:
    """msclap's model classes and wrapper, imported once, coping with a missing torchaudio."""
    global _msclap
    if _msclap is not None:
        return _msclap
    try:  # transformers first: it probes for torchaudio and must see the truth
        importlib.import_module("transformers")
        importlib.import_module("huggingface_hub.file_download")
    except ImportError as exc:
        raise UsageError(
            f"the MS-CLAP model needs transformers and huggingface_hub ({exc}); "
            "install them with: pip install 'transformers>=4.34,<5' huggingface_hub "
            "torchlibrosa 'librosa>=0.10.2' torch==2.13.0"
        ) from None
    with _TorchaudioStandIn():
        try:
            clap_mod = importlib.import_module("msclap.models.clap")
            wrapper_mod = importlib.import_module("msclap.CLAPWrapper")
        except ImportError as exc:
            raise UsageError(
                f"cannot import msclap ({exc}); install it without its pins with: pip install --no-deps msclap==1.3.4"
            ) from None
    _msclap = types.SimpleNamespace(
        CLAP=clap_mod.CLAP,
        Projection=clap_mod.Projection,
        Wrapper=wrapper_mod.CLAPWrapper,
        config_dir=Path(str(wrapper_mod.__file__)).parent / "configs",
    )
    return _msclap


class _TorchaudioStandIn:
    """Context manager: an empty ``torchaudio`` in ``sys.modules`` only if the real one fails."""

    names = ("torchaudio", "torchaudio.transforms")

    def __enter__(self) -> None:
        self.saved = {n: sys.modules.get(n) for n in self.names}
        self.inserted = False
        try:
            importlib.import_module("torchaudio")
            importlib.import_module("torchaudio.transforms")
        except Exception:  # ImportError, or OSError from a binary built for another torch
            for n in self.names:
                sys.modules.pop(n, None)
            ta = types.ModuleType("torchaudio")
            ta.transforms = types.ModuleType("torchaudio.transforms")  # type: ignore[attr-defined]
            sys.modules.update({"torchaudio": ta, "torchaudio.transforms": ta.transforms})
            self.inserted = True

    def __exit__(self, *exc: object) -> None:
        if self.inserted:
            for n, mod in self.saved.items():
                if mod is None:
                    sys.modules.pop(n, None)
                else:
                    sys.modules[n] = mod
