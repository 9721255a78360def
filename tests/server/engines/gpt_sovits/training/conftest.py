"""Shared, session-wide training fixtures: micro model folders with the training files, the
dataset of ``dataset.py`` and its prepared experiment folders (made once, read-only after)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from server.engines.gpt_sovits.training.prepare import prepare_dataset
from tests.server.engines.gpt_sovits.model_factory import generate_models
from tests.server.engines.gpt_sovits.training.dataset import write_dataset

SEED = 7
VARIANTS = ("v2", "v2Pro")


@pytest.fixture(scope="session")
def training_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """variant -> micro model folder (seed 7) with the training files."""
    folders = {}
    for variant in VARIANTS:
        folder = tmp_path_factory.mktemp(f"micro-{variant}-training")
        generate_models(variant, "micro", SEED, folder, training=True)
        folders[variant] = folder
    return folders


@pytest.fixture(scope="session")
def dataset_list(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``.list`` of the eight test clips."""
    return write_dataset(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="session")
def experiments(training_models: dict[str, Path], dataset_list: Path,
                tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """variant -> experiment folder prepared from the clips (treat as read-only).

    Prepared with one torch thread, as the official recordings were: the features are then
    bit-identical to the official ones, which the s2 parity needs (with two threads they
    differ by about 2e-6, enough to change the rounding noise that moves the key biases).
    """
    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for variant in VARIANTS:
            exp = tmp_path_factory.mktemp(f"exp-{variant}") / "exp"
            prepare_dataset(training_models[variant], dataset_list, exp, variant=variant)
            out[variant] = exp
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture
def one_torch_thread() -> object:
    """Torch on one thread for the test (the official traces were recorded with one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield None
    torch.set_num_threads(threads)
