"""Shared test settings: a headless matplotlib backend and a deterministic seed."""

import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")
