"""ScaledAdam, the optimiser the official GPT-SoVITS GPT (s1) stage trains with.

ScaledAdam (D. Povey, k2/icefall) is Adam whose step for a tensor is proportional to the
tensor's own RMS, plus a learned overall scale per tensor (as if each tensor were
``unit_tensor * exp(scale)``), momentum kept as a parameter change ``delta`` rather than a
gradient average, and gradient clipping against the median gradient norm of recent steps. This
is a clean-room implementation of the behaviour of the version GPT-SoVITS ships, checked
step by step against the official training; it includes that version's particulars:

- tensors of equal dtype and shape are stepped together, stacked (the state of a stack lives
  with its first tensor; stacks are visited in sorted ``(dtype, *shape)`` order);
- the clipping factor scales only the gradients the scale update sees; the Adam step itself
  uses the unclipped gradient;
- one-element tensors get plain Adam on ``lr * scalar_lr_scale`` and are clamped to
  ``+-scalar_max`` *before* the step is added;
- no bias correction of the first moment; the second moment is bias-corrected only while the
  correction is below 0.99.

No state is saved between runs (fine-tuning always starts from the pretrained weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor


class ScaledAdam(torch.optim.Optimizer):
    """The optimiser, over one group of parameters (their order decides nothing)."""

    def __init__(
        self,
        params: Sequence[torch.nn.Parameter],
        *,
        lr: float = 0.03,
        clipping_scale: float | None = None,
        betas: tuple[float, float] = (0.9, 0.98),
        scalar_lr_scale: float = 0.1,
        eps: float = 1.0e-8,
        param_min_rms: float = 1.0e-5,
        param_max_rms: float = 3.0,
        scalar_max: float = 10.0,
        size_update_period: int = 4,
        clipping_update_period: int = 100,
    ) -> None:
        defaults = {"lr": lr, "clipping_scale": clipping_scale, "betas": betas,
                    "scalar_lr_scale": scalar_lr_scale, "eps": eps,
                    "param_min_rms": param_min_rms, "param_max_rms": param_max_rms,
                    "scalar_max": scalar_max, "size_update_period": size_update_period,
                    "clipping_update_period": clipping_update_period}
        super().__init__(list(params), defaults)

    def _stacks(self, group: dict[str, Any]) -> list[list[torch.nn.Parameter]]:
        by_key: dict[tuple[Any, ...], list[torch.nn.Parameter]] = {}
        for p in group["params"]:
            by_key.setdefault((str(p.dtype), *p.shape), []).append(p)
        return [by_key[key] for key in sorted(by_key)]

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:  # type: ignore[override]
        """One update of every parameter from its accumulated ``.grad``."""
        if closure is not None:
            raise ValueError("ScaledAdam takes no closure")
        for group in self.param_groups:
            stacks = self._stacks(group)
            stacked = []
            for members in stacks:
                p = torch.stack([m.detach() for m in members])
                p.grad = torch.stack([torch.zeros_like(m) if m.grad is None else m.grad
                                      for m in members])
                stacked.append((p, self.state[members[0]]))
            first_state = stacked[0][1]
            clip = 1.0 if not first_state else self._clipping_factor(group, stacked)
            for p, state in stacked:
                if not state:
                    self._init_state(group, p, state)
                self._step_stack(group, p, state, clip)
            for (p, _), members in zip(stacked, stacks):
                for i, member in enumerate(members):
                    member.copy_(p[i])

    @staticmethod
    def _init_state(group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        state["step"] = 0
        state["delta"] = torch.zeros_like(p)
        if p.numel() > 1:  # counted over the whole stack, as the official code does
            rms = (p ** 2).mean(dim=list(range(1, p.ndim)), keepdim=True).sqrt()
            state["param_rms"] = rms
            state["scale_exp_avg_sq"] = torch.zeros_like(rms)
            state["scale_grads"] = torch.zeros(group["size_update_period"], *rms.shape,
                                               dtype=p.dtype, device=p.device)
        state["exp_avg_sq"] = torch.zeros_like(p)

    def _clipping_factor(self, group: dict[str, Any],
                         stacked: list[tuple[Tensor, dict[str, Any]]]) -> float:
        """<= 1: scales gradients whose norm exceeds ``clipping_scale`` x the recent median."""
        scale = group["clipping_scale"]
        first_p, first_state = stacked[0]
        step = first_state["step"]
        if scale is None or step == 0:
            return 1.0
        period = group["clipping_update_period"]
        total = torch.tensor(0.0, device=first_p.device)
        for p, state in stacked:
            grad = _grad(p)
            if p.numel() == p.shape[0]:  # a stack of scalars
                total += (grad ** 2).sum()
            else:
                total += ((grad * state["param_rms"]) ** 2).sum()
        norm = total.sqrt()
        norms = first_state.setdefault("model_norms",
                                       torch.zeros(period, device=first_p.device))
        norms[step % period] = norm
        if step % period == 0:
            ordered = norms.sort()[0].cpu()
            median = ordered[min(period - 1, (period // 4) * 2)].item()
            first_state["model_norm_threshold"] = scale * median
            first_state["num_clipped"] = 0
        if step < period or "model_norm_threshold" not in first_state:
            return 1.0
        factor = min(1.0, (first_state["model_norm_threshold"] / (norm + 1.0e-20)).item())
        if factor < 1.0:
            first_state["num_clipped"] += 1
        return factor

    def _step_stack(self, group: dict[str, Any], p: Tensor, state: dict[str, Any],
                    clip: float) -> None:
        period = group["size_update_period"]
        beta1 = group["betas"][0]
        grad = _grad(p) if clip == 1.0 else _grad(p) * clip
        step = state["step"]
        state["delta"].mul_(beta1)
        per_tensor = p.numel() // p.shape[0]
        if per_tensor > 1:
            dims = list(range(1, p.ndim))
            state["scale_grads"][step % period] = (p * grad).sum(dim=dims, keepdim=True)
            if step % period == period - 1:
                state["param_rms"].copy_((p ** 2).mean(dim=dims, keepdim=True).sqrt())
                if step > 0:
                    self._update_scale(group, p, state)
            self._adam_step(group, p, state)
        else:
            self._scalar_step(group, p, state)
        state["step"] = step + 1

    @staticmethod
    def _update_scale(group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        """Learn the tensor's overall scale from the last ``size_update_period`` steps."""
        beta1, beta2 = group["betas"]
        size_lr = group["lr"] * group["scalar_lr_scale"]
        scale_grads = state["scale_grads"]
        period = scale_grads.shape[0]
        beta2_period = beta2 ** period
        avg_sq = state["scale_exp_avg_sq"]
        avg_sq.mul_(beta2_period).add_((scale_grads ** 2).mean(dim=0), alpha=1 - beta2_period)
        size_step = (state["step"] + 1) // period
        correction = 1 - beta2_period ** size_step
        denom = avg_sq.sqrt() + group["eps"]
        scale_step = -size_lr * (correction ** 0.5) * scale_grads.sum(dim=0) / denom
        rms = state["param_rms"]
        scale_step.masked_fill_(rms < group["param_min_rms"], 0.0)
        scale_step.masked_fill_(rms > group["param_max_rms"], -size_lr * period)
        state["delta"].add_(p * scale_step, alpha=1 - beta1)

    @staticmethod
    def _adam_step(group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        grad = _grad(p)  # unclipped (see the module docstring)
        avg_sq = state["exp_avg_sq"]
        avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        correction = 1 - beta2 ** (state["step"] + 1)
        if correction < 0.99:
            avg_sq = avg_sq * (1.0 / correction)
        denom = avg_sq.sqrt()
        denom += group["eps"]
        alpha = -group["lr"] * (1 - beta1) * state["param_rms"].clamp(min=group["param_min_rms"])
        state["delta"].add_((grad / denom) * alpha)
        p.add_(state["delta"])

    @staticmethod
    def _scalar_step(group: dict[str, Any], p: Tensor, state: dict[str, Any]) -> None:
        beta1, beta2 = group["betas"]
        lr = group["lr"] * group["scalar_lr_scale"]
        grad = _grad(p)
        avg_sq = state["exp_avg_sq"]
        avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        correction = 1 - beta2 ** (state["step"] + 1)
        denom = (avg_sq / correction).sqrt() + group["eps"]
        state["delta"].add_(grad / denom, alpha=-lr * (1 - beta1))
        p.clamp_(min=-group["scalar_max"], max=group["scalar_max"])
        p.add_(state["delta"])


def _grad(p: Tensor) -> Tensor:
    """The stacked gradient (always set by :meth:`ScaledAdam.step`)."""
    assert p.grad is not None
    return p.grad
