"""A worker ends its start-up with the planned torch thread count, whatever the engine set."""

from __future__ import annotations

import torch

from server.synthesis.worker import _pin_torch_threads


def test_a_count_lowered_while_loading_is_raised_back_to_the_plan() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # what a model loader may do process-wide
        _pin_torch_threads(2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
