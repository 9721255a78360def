"""The SoVITS (s2) fine-tuning stage, as the official ``s2_train.py`` runs it.

Per batch, from the pretrained generator (with ``enc_q``) and discriminator:

1. **D step**: LSGAN loss of the multi-period discriminator on the real slice and the
   generated one (detached); AdamW.
2. **G step**: the updated discriminator scores the generated slice again;
   ``loss = adv + 2 * feature matching + 45 * mel L1 + KL + commitment (0, frozen)``; AdamW
   with the text embedding, text encoder and MRTE at 0.4x the learning rate.

Both AdamWs use lr 1e-4, betas (0.8, 0.99), eps 1e-9 and torch's default weight decay 0.01;
the exponential schedule (0.999875 per epoch) is stepped once before the first epoch, so
epoch ``e`` runs at ``1e-4 * 0.999875 ** e``. The result is exported as the official
``<exp>_e<E>_s<N>.pth``.
"""

from __future__ import annotations

import copy
import time
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from server.engines.gpt_sovits.checkpoints import load_sovits_checkpoint
from server.engines.gpt_sovits.training import s2_data
from server.engines.gpt_sovits.training.discriminator import MultiPeriodDiscriminator
from server.engines.gpt_sovits.training.export import FIXED_TIMESTAMP, export_sovits
from server.engines.gpt_sovits.training.files import TrainingFiles
from server.engines.gpt_sovits.training.mel import spec_to_mel, waveform_mel
from server.engines.gpt_sovits.training.options import FinetuneOptions
from server.engines.gpt_sovits.training.progress import FinetuneResult, RunMonitor, StepReport
from server.engines.gpt_sovits.training.sovits_train import (
    LOW_LR_PREFIXES,
    SEGMENT_FRAMES,
    SovitsTraining,
    slice_frames,
)
from server.engines.gpt_sovits.training.trace import TraceWriter
from server.errors import FailedPrecondition

LEARNING_RATE = 1e-4
TEXT_LOW_LR_RATE = 0.4
BETAS = (0.8, 0.99)
EPS = 1e-9
LR_DECAY = 0.999875
C_MEL = 45.0
C_KL = 1.0
HOP = 640
SEGMENT_SAMPLES = SEGMENT_FRAMES * HOP
#: The official configs/s2.json (train and data; the model section comes from the pretrained
#: file), in the order the official trainer keeps, before the web UI's additions.
S2_TRAIN: dict[str, Any] = {
    "log_interval": 100, "eval_interval": 500, "seed": 1234, "epochs": 100,
    "learning_rate": LEARNING_RATE, "betas": list(BETAS), "eps": EPS, "batch_size": 32,
    "fp16_run": True, "lr_decay": LR_DECAY, "segment_size": SEGMENT_SAMPLES,
    "init_lr_ratio": 1, "warmup_epochs": 0, "c_mel": 45, "c_kl": C_KL,
    "text_low_lr_rate": TEXT_LOW_LR_RATE, "grad_ckpt": False,
}
S2_DATA: dict[str, Any] = {
    "max_wav_value": 32768.0, "sampling_rate": 32000, "filter_length": 2048,
    "hop_length": HOP, "win_length": 2048, "n_mel_channels": 128, "mel_fmin": 0.0,
    "mel_fmax": None, "add_blank": True, "n_speakers": 300, "cleaned_text": True,
}


def train_s2(files: TrainingFiles, exp_dir: Path, options: FinetuneOptions,
             monitor: RunMonitor | None = None) -> FinetuneResult:
    """Fine-tune the SoVITS generator of ``files`` on the experiment folder ``exp_dir``."""
    started = time.perf_counter()
    monitor = monitor or RunMonitor()
    torch.manual_seed(options.seed)
    device = torch.device(options.device)
    pro = files.models.sv is not None
    checkpoint = load_sovits_checkpoint(files.generator)
    net_g = SovitsTraining(checkpoint, deterministic=options.deterministic).to(device).train()
    net_d = _discriminator(files).to(device).train()
    items, dropped = s2_data.load_items(exp_dir, pro, options.deterministic, options.seed)
    per_epoch = len(s2_data.epoch_batches(items, options.batch_size, False, 1))
    if per_epoch == 0:
        raise FailedPrecondition("no utterance of the experiment lies in the official length "
                                 "buckets (1-60 s); record longer clips")
    total = options.planned_steps(per_epoch)
    g_named = net_g.official_parameters()
    d_named = list(net_d.named_parameters())
    optim_g = torch.optim.AdamW(_groups(g_named), LEARNING_RATE, betas=BETAS, eps=EPS)
    optim_d = torch.optim.AdamW([p for _, p in d_named], LEARNING_RATE, betas=BETAS, eps=EPS)
    schedulers = [torch.optim.lr_scheduler.ExponentialLR(o, gamma=LR_DECAY)
                  for o in (optim_g, optim_d)]
    with warnings.catch_warnings():  # stepping before any optimiser step is the point here
        warnings.simplefilter("ignore", UserWarning)
        for scheduler in schedulers:
            scheduler.step()  # the official trainer steps once before the first epoch
    trace = TraceWriter({"stage": "s2", "variant": files.variant,
                         "deterministic": options.deterministic,
                         "batch_size": options.batch_size, "exported": [], "size": None})
    step, epoch, step_seconds = 0, 0, []
    while step < total:
        epoch += 1
        for batch_idx, indices in enumerate(s2_data.epoch_batches(
                items, options.batch_size, not options.deterministic, epoch)):
            if step == total:
                break
            monitor.check()
            began = time.perf_counter()
            names = [items[i].name for i in indices]
            batch = s2_data.collate(names, [s2_data.load_example(exp_dir, items[i], pro)
                                            for i in indices], pro)
            entry = _step(net_g, net_d, optim_g, optim_d, batch, device, trace, g_named,
                          d_named, first=step == 0)
            step += 1
            step_seconds.append(time.perf_counter() - began)
            trace.step({"step": step, "epoch": epoch, "batch_idx": batch_idx, "items": names,
                        **entry})
            monitor.report(StepReport("s2", epoch, step, total, {
                k: entry[k] for k in ("loss_disc_all", "loss_gen_all", "loss_mel", "loss_kl")},
                step_seconds[-1]))
        for scheduler in schedulers:
            scheduler.step()
    exp_name = Path(exp_dir).resolve().name
    hps = _export_config(files, checkpoint.config, options, exp_name, epoch)
    out = Path(options.out_dir) / f"{exp_name}_e{epoch}_s{step}.pth"
    export_sovits(out, net_g.export_state(), hps, epoch, step, files.variant,
                  timestamp=FIXED_TIMESTAMP if options.deterministic else None)
    seconds = time.perf_counter() - started
    if options.trace_dir is not None:
        trace.header["exported"] = [out.name]
        params = [(f"net_g.{n}", p) for n, p in g_named] + [(f"net_d.{n}", p) for n, p in d_named]
        trace.write(options.trace_dir, params, {
            "stage": "s2", "variant": files.variant, "exp_name": exp_name,
            "dataset_len": len(items), "batches_per_epoch": per_epoch, "epochs_run": epoch,
            "dropped": dropped, "config": hps, "seconds": round(seconds, 3),
            "step_seconds": [round(t, 4) for t in step_seconds]})
    return FinetuneResult(stage="s2", variant=files.variant, exported=[out], steps_run=step,
                          epochs_run=epoch, batch_size=options.batch_size,
                          dataset_items=len(items), dropped=dropped, seconds=seconds)


def _discriminator(files: TrainingFiles) -> MultiPeriodDiscriminator:
    net_d = MultiPeriodDiscriminator(files.variant)
    try:
        document = torch.load(files.discriminator, map_location="cpu", weights_only=True)
        state = {k: v.float() for k, v in document["weight"].items()}
        net_d.load_state_dict(state, strict=True)
    except (KeyError, TypeError, RuntimeError, ValueError) as exc:
        raise FailedPrecondition(
            f"{files.discriminator.name} is not the {files.variant} SoVITS discriminator "
            f"({type(exc).__name__}); give the official pretrained s2D file") from exc
    return net_d


def _groups(named: list[tuple[str, torch.nn.Parameter]]) -> list[dict[str, Any]]:
    """The official four AdamW groups: the rest, then text embedding, text encoder, MRTE."""
    low = [[p for n, p in named if n.startswith(prefix)] for prefix in LOW_LR_PREFIXES]
    rest = [p for n, p in named if not n.startswith(LOW_LR_PREFIXES)]
    return [{"params": rest, "lr": LEARNING_RATE}] + [
        {"params": group, "lr": LEARNING_RATE * TEXT_LOW_LR_RATE} for group in low]


def _step(net_g: SovitsTraining, net_d: MultiPeriodDiscriminator,
          optim_g: torch.optim.Optimizer, optim_d: torch.optim.Optimizer,
          batch: s2_data.S2Batch, device: torch.device, trace: TraceWriter,
          g_named: list[tuple[str, torch.nn.Parameter]],
          d_named: list[tuple[str, torch.nn.Parameter]], first: bool) -> dict[str, Any]:
    spec, lengths = batch.spec.to(device), batch.spec_lengths.to(device)
    out = net_g(batch.ssl.to(device), spec, lengths, batch.phones.to(device),
                batch.phone_lengths.to(device),
                None if batch.sv_emb is None else batch.sv_emb.to(device))
    y_mel = slice_frames(spec_to_mel(spec), out.slice_start, SEGMENT_FRAMES)
    y_hat_mel = waveform_mel(out.audio.squeeze(1))
    y = slice_frames(batch.wav.to(device), out.slice_start * HOP, SEGMENT_SAMPLES)
    entry: dict[str, Any] = {
        "rows": batch.names, "spec_lengths": batch.spec_lengths.tolist(),
        "ids_slice": out.slice_start.tolist(),
        "lr_g": [g["lr"] for g in optim_g.param_groups], "lr_d": optim_d.param_groups[0]["lr"]}

    scores_r, scores_g, _, _ = net_d(y, out.audio.detach())
    loss_disc, losses_r, losses_g = _discriminator_loss(scores_r, scores_g)
    optim_d.zero_grad()
    loss_disc.backward()
    entry["grad_norm_d"] = _grad_norm(p for _, p in d_named)
    if first:
        trace.record_grads((f"net_d.{n}", p) for n, p in d_named)
    optim_d.step()

    scores_r, scores_g, fmaps_r, fmaps_g = net_d(y, out.audio)
    mel_l1 = F.l1_loss(y_mel, y_hat_mel)
    kl = _kl_loss(out.z_p, out.logs_q, out.m_p, out.logs_p, out.mask)
    loss_fm = _feature_loss(fmaps_r, fmaps_g)
    loss_gen, losses_gen = _generator_loss(scores_g)
    kl_ssl = torch.zeros((), device=device)  # the frozen quantizer's commitment loss
    loss_gen_all = loss_gen + loss_fm + mel_l1 * C_MEL + kl_ssl + kl * C_KL
    optim_g.zero_grad()
    loss_gen_all.backward()
    entry["grad_norm_g"] = _grad_norm(p for _, p in g_named)
    if first:
        trace.add_grads((f"net_g.{n}", p) for n, p in g_named)
    optim_g.step()
    loss_disc, mel_l1, kl = loss_disc.detach(), mel_l1.detach(), kl.detach()
    loss_fm, loss_gen, loss_gen_all = loss_fm.detach(), loss_gen.detach(), loss_gen_all.detach()
    entry.update({
        "loss_disc": float(loss_disc), "losses_disc_r": losses_r, "losses_disc_g": losses_g,
        "loss_disc_all": float(loss_disc), "mel_l1": float(mel_l1),
        "loss_mel": float(mel_l1 * C_MEL), "kl": float(kl), "loss_kl": float(kl * C_KL),
        "kl_ssl": 0.0, "loss_fm": float(loss_fm), "loss_gen": float(loss_gen),
        "losses_gen": [float(v) for v in losses_gen], "loss_gen_all": float(loss_gen_all)})
    return entry


def _discriminator_loss(real: list[torch.Tensor], fake: list[torch.Tensor]) -> tuple[
        torch.Tensor, list[float], list[float]]:
    total = torch.zeros((), device=real[0].device)
    losses_r, losses_g = [], []
    for r, g in zip(real, fake):
        loss_r = torch.mean((1 - r.float()) ** 2)
        loss_g = torch.mean(g.float() ** 2)
        total = total + (loss_r + loss_g)  # the official association
        losses_r.append(float(loss_r.detach()))
        losses_g.append(float(loss_g.detach()))
    return total, losses_r, losses_g


def _generator_loss(fake: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    losses = [torch.mean((1 - g.float()) ** 2) for g in fake]
    total = torch.zeros((), device=fake[0].device)
    for loss in losses:
        total = total + loss
    return total, [loss.detach() for loss in losses]


def _feature_loss(real: list[list[torch.Tensor]], fake: list[list[torch.Tensor]]) -> torch.Tensor:
    total = torch.zeros((), device=fake[0][0].device)
    for maps_r, maps_g in zip(real, fake):
        for r, g in zip(maps_r, maps_g):
            total = total + torch.mean(torch.abs(r.float().detach() - g.float()))
    return total * 2


def _kl_loss(z_p: torch.Tensor, logs_q: torch.Tensor, m_p: torch.Tensor, logs_p: torch.Tensor,
             mask: torch.Tensor) -> torch.Tensor:
    kl = logs_p - logs_q - 0.5
    kl = kl + 0.5 * ((z_p - m_p) ** 2) * torch.exp(-2.0 * logs_p)
    return torch.sum(kl * mask) / torch.sum(mask)


def _grad_norm(params: Any) -> float:
    """The official ``clip_grad_value_(params, None)``: the total L2 norm, summed in Python."""
    total = 0.0
    for p in params:
        if p.grad is not None:
            total += p.grad.detach().norm(2).item() ** 2
    return total ** 0.5


def _export_config(files: TrainingFiles, pretrained: dict[str, Any], options: FinetuneOptions,
                   exp_name: str, epoch: int) -> dict[str, Any]:
    """The hps the official trainer saves with the export (web UI values, fp32)."""
    train = copy.deepcopy(S2_TRAIN)
    train.update({
        "epochs": options.steps if options.steps is not None else options.planned_epochs(1),
        "batch_size": options.batch_size, "fp16_run": False,
        "pretrained_s2G": _official_path(files, files.generator),
        "pretrained_s2D": _official_path(files, files.discriminator),
        "if_save_latest": True, "if_save_every_weights": True, "save_every_epoch": epoch,
        "gpu_numbers": "0", "lora_rank": "32"})
    data = {**copy.deepcopy(S2_DATA), "exp_dir": f"logs/{exp_name}"}
    model = copy.deepcopy(pretrained.get("model", {}))
    model["version"] = files.variant
    return {"train": train, "data": data, "model": model, "s2_ckpt_dir": f"logs/{exp_name}",
            "content_module": "cnhubert", "save_weight_dir": f"SoVITS_weights_{files.variant}",
            "name": exp_name, "version": files.variant, "pretrain": None, "resume_step": None}


def _official_path(files: TrainingFiles, path: Path) -> str:
    """``path`` as the web UI names it: relative to ``GPT_SoVITS/pretrained_models``."""
    root = files.models.hubert_dir.parent
    try:
        return f"GPT_SoVITS/pretrained_models/{path.relative_to(root).as_posix()}"
    except ValueError:
        return path.name

