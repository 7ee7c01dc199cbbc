"""The zero-shot baselines on MS-CLAP 2023 and the prior-only control (no training).

Modules, in the order the data flows:

* reading the model: :mod:`.msclap_import` (msclap without torchaudio), :mod:`.clap_weights`
  (weights files), :mod:`.projection_heads_torch` (the two projection heads, no msclap),
  :mod:`.clap_model` (the full model, msclap);
* audio to features: :mod:`.resample`, :mod:`.audio_framing`, :mod:`.extract`;
* features to curves: :mod:`.pooled_text` (the query's pooled text row), :mod:`.curves` (a split's
  features, similarity curves in chunks);
* curves to windows: :mod:`.localise`, then the baselines :mod:`.jointproj`, :mod:`.clap_cosine`,
  :mod:`.sliding_clap`; the control :mod:`.prior` listens to nothing;
* windows to files: :mod:`.submission`; :mod:`.demo_systems` registers them with ``amr-bench demo``.

Nothing here is imported by ``amr_bench`` itself; the CLI imports these modules lazily.
"""
