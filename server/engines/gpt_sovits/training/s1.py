"""The GPT (s1) fine-tuning stage, as the official ``s1_train.py`` runs it.

From the pretrained GPT checkpoint, every batch runs the teacher-forced loss and its backward
pass; gradients accumulate, and the optimiser steps only after batches whose index in the
epoch is a positive multiple of 4 (the official condition: the first update comes after the
5th batch and sums five batches' gradients; leftovers carry into the next epoch; an epoch of
four batches or fewer never updates). ScaledAdam runs at lr 0.01 for the first update and
0.002 after (the official scheduler pins 0.002 from its first step). The result is exported
as the official ``<exp>-e<E>.ckpt``.
"""

from __future__ import annotations

import copy
import math
import time
from pathlib import Path
from typing import Any

import torch

from server.engines.gpt_sovits.checkpoints import load_t2s_checkpoint
from server.engines.gpt_sovits.layout import OFFICIAL_FILES
from server.engines.gpt_sovits.t2s import T2SModel
from server.engines.gpt_sovits.training import s1_data
from server.engines.gpt_sovits.training.export import FIXED_TIMESTAMP, export_gpt
from server.engines.gpt_sovits.training.files import TrainingFiles
from server.engines.gpt_sovits.training.options import FinetuneOptions
from server.engines.gpt_sovits.training.progress import FinetuneResult, RunMonitor, StepReport
from server.engines.gpt_sovits.training.scaled_adam import ScaledAdam
from server.engines.gpt_sovits.training.t2s_train import DROPOUT, T2STraining
from server.engines.gpt_sovits.training.trace import TraceWriter

FIRST_LR = 0.01
LATER_LR = 0.002
UPDATE_EVERY = 4
#: The official configs/s1longer-v2.yaml (model dimensions come from the pretrained file).
S1_CONFIG: dict[str, Any] = {
    "train": {"seed": 1234, "epochs": 20, "batch_size": 8, "save_every_n_epoch": 1,
              "precision": "16-mixed", "gradient_clip": 1.0},
    "optimizer": {"lr": 0.01, "lr_init": 0.00001, "lr_end": 0.0001, "warmup_steps": 2000,
                  "decay_steps": 40000},
    "data": {"max_eval_sample": 8, "max_sec": 54, "num_workers": 4, "pad_val": 1024},
    "model": {},
    "inference": {"top_k": 15},
}


def train_s1(files: TrainingFiles, exp_dir: Path, options: FinetuneOptions,
             monitor: RunMonitor | None = None) -> FinetuneResult:
    """Fine-tune the GPT of ``files`` on the experiment folder ``exp_dir``."""
    started = time.perf_counter()
    monitor = monitor or RunMonitor()
    torch.manual_seed(options.seed)
    pretrained = load_t2s_checkpoint(files.models.t2s)
    model = T2SModel.from_checkpoint(pretrained).to(options.device)
    trainer = T2STraining(model, dropout=0.0 if options.deterministic else DROPOUT,
                          official_phone_mask=not options.fix_phone_mask).train()
    items, dropped = s1_data.load_items(exp_dir)
    batch_size = s1_data.effective_batch_size(options.batch_size, len(items))
    per_epoch = math.ceil(len(items) / batch_size)
    epochs, total = options.planned_epochs(per_epoch), options.planned_steps(per_epoch)
    named = trainer.official_parameters()
    optimizer = ScaledAdam([p for _, p in named], lr=FIRST_LR, betas=(0.9, 0.95),
                           clipping_scale=2.0, clipping_update_period=1000)
    trace = TraceWriter({"stage": "s1", "variant": files.variant,
                         "deterministic": options.deterministic,
                         "batch_size": options.batch_size, "exported": [], "size": None})
    step, epoch = 0, 0
    step_seconds: list[float] = []
    while step < total:
        epoch += 1
        batches = s1_data.epoch_order(items, batch_size, options.deterministic, options.seed,
                                      epoch)
        for batch_idx, indices in enumerate(batches):
            if step == total:
                break
            monitor.check()
            began = time.perf_counter()
            batch = s1_data.collate([items[i] for i in indices])
            loss, accuracy = trainer(batch)
            loss.backward()
            loss_value = float(loss.detach())
            step += 1
            if step == 1:
                trace.record_grads((f"model.{n}", p) for n, p in named)
            lr = optimizer.param_groups[0]["lr"]
            update = batch_idx > 0 and batch_idx % UPDATE_EVERY == 0
            if update:
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                for group in optimizer.param_groups:
                    group["lr"] = LATER_LR
            trace.step({"step": step, "epoch": epoch, "batch_idx": batch_idx,
                        "items": batch.names, "phoneme_lens": batch.phone_lens.tolist(),
                        "semantic_lens": batch.code_lens.tolist(), "loss": loss_value,
                        "acc": accuracy, "optimizer_step": update, "lr": lr})
            step_seconds.append(time.perf_counter() - began)
            monitor.report(StepReport("s1", epoch, step, total, {"loss": loss_value},
                                      step_seconds[-1]))
    exp_name = Path(exp_dir).resolve().name
    config = _export_config(files, pretrained.config, options, exp_name, epochs)
    out = Path(options.out_dir) / f"{exp_name}-e{epoch}.ckpt"
    key_order = list(pretrained.state_dict)
    export_gpt(out, trainer.official_state_dict(key_order), config, epoch,
               timestamp=FIXED_TIMESTAMP if options.deterministic else None)
    seconds = time.perf_counter() - started
    if options.trace_dir is not None:
        trace.header["exported"] = [out.name]
        trace.write(options.trace_dir, ((f"model.{n}", p) for n, p in named), {
            "stage": "s1", "variant": files.variant, "exp_name": exp_name,
            "dataset_len": len(items), "effective_batch_size": batch_size,
            "batches_per_epoch": per_epoch, "epochs_run": epoch, "dropped": dropped,
            "config": config, "seconds": round(seconds, 3),
            "step_seconds": [round(t, 4) for t in step_seconds],
            "official_phone_mask": not options.fix_phone_mask})
    return FinetuneResult(stage="s1", variant=files.variant, exported=[out], steps_run=step,
                          epochs_run=epoch, batch_size=batch_size, dataset_items=len(items),
                          dropped=dropped, seconds=seconds)


def _export_config(files: TrainingFiles, pretrained: dict[str, Any], options: FinetuneOptions,
                   exp_name: str, epochs: int) -> dict[str, Any]:
    """The config the official trainer writes into the export (web UI values, fp32)."""
    config = copy.deepcopy(S1_CONFIG)
    config["train"].update({
        "epochs": epochs, "batch_size": options.batch_size, "save_every_n_epoch": epochs,
        "precision": "32",
        "if_save_every_weights": True, "if_save_latest": True, "if_dpo": False,
        "half_weights_save_dir": f"GPT_weights_{files.variant}", "exp_name": exp_name})
    config["model"] = copy.deepcopy(pretrained.get("model", {}))
    config["pretrained_s1"] = f"GPT_SoVITS/pretrained_models/{OFFICIAL_FILES[files.variant][0]}"
    config["train_semantic_path"] = f"logs/{exp_name}/6-name2semantic.tsv"
    config["train_phoneme_path"] = f"logs/{exp_name}/2-name2text.txt"
    config["output_dir"] = f"logs/{exp_name}/logs_s1_{files.variant}"
    return _sorted(config)


def _sorted(value: Any) -> Any:
    """Keys in sorted order at every level: the web UI hands the config over as YAML
    (``yaml.dump`` sorts keys), so that is the order the official export keeps."""
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    return value
