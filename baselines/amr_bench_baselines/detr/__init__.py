"""Trainable DETR baselines: AM-DETR (QD-DETR on audio) and LCS-DETR. See README.md here.

Importing this package imports nothing heavy; ``config`` is torch-free, the other modules need the
``baselines`` extra (torch, safetensors).
"""
