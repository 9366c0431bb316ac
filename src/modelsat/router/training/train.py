"""Capability instruction tuning (Model-SAT §3.3) with shared-prefix batches.

Each step samples B training instructions (discriminative ones more often), scores every zoo card
for each of them with one shared-prefix pass, and applies the configured loss: the paper's
homogeneous in-batch card groups, our instruction-listwise loss, or both. Stage 1 trains the
connector only; stage 2 adds LoRA adapters on the LLM (smaller learning rate than the connector).
In stage 1 nothing before the capability tokens trains, so each instruction's prefix KV cache and
encoder embedding are computed once into a prefix store and every step reads them from there;
each validation pass reads its queries' prefixes from a second, exact (fp32) store the same way.
Validation (routed accuracy on the zoo, or with `select_by: aiq` the AIQ of the cost sweep) runs
every `eval_every` steps and the best weights are written to the router directory; a checkpoint
every `checkpoint_every` steps lets `--resume` continue after a kill. With `max_minutes`, the
remaining steps are re-planned from measured step and validation times so that the run ends within
its budget (router/training/budget.py); the learning-rate schedule follows the latest plan. At the end the
best weights' P(Yes) is calibrated on the validation queries (router/routing/calibration.py). Under
`accelerate launch` every process draws its own instructions and gradients are averaged (DDP); the
main process validates and writes. On the table of several zoos each zoo is a block of its own models, a step draws
one zoo, and validation averages the zoos (router/training/zoo_blocks.py).

Example:
    result = train_router(outcomes, SMALL, load_config("cpu-small"), Path("routers/mine"))
"""

import logging
import math
import shutil
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from safetensors.torch import load_file
from tqdm.auto import tqdm

from modelsat.aptitude.aptitude_set import AptitudeSet
from modelsat.aptitude.cards import build_cards
from modelsat.aptitude.selection import select_aptitude_set
from modelsat.cost.matrix import recorded_costs
from modelsat.errors import ConfigError, RouterError
from modelsat.evaluation.frontier import validation_aiq
from modelsat.io import atomic_write_bytes
from modelsat.router.config import ModelsatConfig, TrainConfig
from modelsat.router.routing.calibration import CALIBRATION_FILE, fit_calibration_by_zoo
from modelsat.router.routing.llm.adapters import add_llm_lora
from modelsat.router.routing.llm.inference import autocast, score_in_batches, use_bf16
from modelsat.router.routing.llm.loading import load_trainable_state, trainable_state
from modelsat.router.routing.llm.model import RouterNet
from modelsat.router.routing.prototypes import aptitude_prototypes
from modelsat.router.routing.routing_text import RoutingTextReader
from modelsat.router.training.artifact import save_router, write_metrics
from modelsat.router.training.averaging import WeightAverage
from modelsat.router.training.budget import TimeBudget
from modelsat.router.training.card_dropout import drop_entries
from modelsat.router.training.losses import card_group_loss, instruction_listwise_loss, pointwise_loss
from modelsat.router.training.mixing import TaskGroups, mix_models
from modelsat.router.training.prefix_store import PrefixStore, score_stored
from modelsat.router.training.training_data import ScoreMatrix
from modelsat.router.training.zoo_blocks import ZooBlock, draw_block, selection_models, zoo_blocks

log = logging.getLogger(__name__)
CHECKPOINT = "checkpoints/last.pt"
PREFIX_STORE = "checkpoints/prefixes"
VAL_PREFIX_STORE = "checkpoints/val-prefixes"
LENGTH_BUCKETS = 8  # batches drawn at once and grouped by prompt length (less padding per step)
PLAN_AFTER_STEPS = 10  # with a time budget, the first plan is made after timing this many steps


@dataclass
class TrainResult:
    """Where the router went, its best validation figure (`select_by`) and the validation curve."""

    router_dir: Path
    best_val_score: float
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def lr_at(step: int, total: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to 10 %."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def make_accelerator(device: str) -> Accelerator:
    """Accelerator for `device` ('cpu' forces the CPU; anything else lets accelerate pick, e.g. under launch)."""
    return Accelerator(cpu=device == "cpu")


def set_stage(net: RouterNet, cfg: ModelsatConfig, stage: int) -> torch.optim.Optimizer:
    """Freeze everything but this stage's parameters and build its optimizer."""
    for p in net.parameters():
        p.requires_grad_(False)
    cap_params = [p for n, p in net.capability.named_parameters() if not n.startswith(("encoder.", "readout."))]
    if stage == 2 and cfg.train.stage2_train_encoder:  # the paper: encoder and connector at the larger rate
        net.encoder_tuned = True
        cap_params += list(net.capability.encoder.parameters())
    groups = [{"params": cap_params, "lr": cfg.train.lr_connector, "base_lr": cfg.train.lr_connector}]
    if net.capability.readout is not None:
        lr_readout = cfg.train.lr_readout or cfg.train.lr_connector
        groups.append({"params": list(net.capability.readout.parameters()), "lr": lr_readout, "base_lr": lr_readout})
    if stage == 2 and cfg.router.lora is not None:
        add_llm_lora(net, cfg.router.lora)
        lora = [p for n, p in net.llm.named_parameters() if "lora_" in n]
        groups.append({"params": lora, "lr": cfg.train.lr_llm, "base_lr": cfg.train.lr_llm})
    for group in groups:
        for p in group["params"]:
            p.requires_grad_(True)
    return torch.optim.AdamW(groups, weight_decay=cfg.train.weight_decay)


def card_subset(n_cards: int, k: int, rng: np.random.Generator, weights: np.ndarray | None) -> np.ndarray:
    """Sorted indices of `k` of `n_cards` cards drawn without replacement, uniformly or ∝ `weights`.

    `weights` cover the zoo's real models; cards beyond them (mixed models) draw at the zoo's mean weight.
    """
    if weights is None:
        return np.sort(rng.choice(n_cards, k, replace=False))
    w = np.concatenate([weights, np.full(n_cards - len(weights), weights.mean())])
    return np.sort(rng.choice(n_cards, k, replace=False, p=w / w.sum()))


def validation_scores(net: RouterNet, matrix: ScoreMatrix, cards: list, bf16: bool) -> np.ndarray:
    """(Q, N) log-odds of the matrix's queries × `cards`, in eval mode."""
    net.eval()
    scores = score_in_batches(net, matrix.prompts, cards, batch_size=32, bf16=bf16)
    net.train()
    return scores


def routed_accuracy(scores: np.ndarray, matrix: ScoreMatrix) -> float:
    """Mean score of the argmax model on the matrix's queries."""
    return float(matrix.scores[np.arange(len(scores)), scores.argmax(axis=1)].mean())


def validation_entry(at_step: int, scores: Sequence[np.ndarray], blocks: Sequence[ZooBlock]) -> dict:
    """One validation point: routed accuracy (averaged over the zoos when there are several, each zoo's beside)."""
    per_zoo = {b.zoo: routed_accuracy(s, b.val) for s, b in zip(scores, blocks, strict=True)}
    entry = {"step": at_step, "val_accuracy": float(np.mean(list(per_zoo.values())))}
    if len(blocks) > 1:
        entry |= {f"val_accuracy_{zoo}": accuracy for zoo, accuracy in per_zoo.items()}
    return entry


def validation_costs(outcomes: pd.DataFrame, val: ScoreMatrix) -> np.ndarray:
    """(Q, M) recorded USD per validation query and model, for `select_by: aiq`.

    Raises:
        ConfigError: when the outcomes lack a cost for some validation (query, model) pair.
    """
    rows = outcomes[outcomes["model"].isin(val.models)]
    cost = recorded_costs(rows, pd.DataFrame({"query_id": val.query_ids}), val.models)
    if cost is None:
        raise ConfigError(
            "train.select_by=aiq needs the outcomes' `cost` for every validation (query, model) pair; "
            "these outcomes lack some (use select_by=accuracy)"
        )
    return cost


def save_calibration(out_dir: Path, scores: Sequence[np.ndarray], blocks: Sequence[ZooBlock]) -> None:
    """Fit the best weights' calibration from their validation `scores`, one (Q, N) matrix per zoo, on every
    (query, model) pair of them (a warning when it cannot be fitted)."""
    try:
        scored = [(s, b.val.scores) for s, b in zip(scores, blocks, strict=True)]
        fit_calibration_by_zoo(scored).save(out_dir / CALIBRATION_FILE)
    except RouterError as exc:
        log.warning("P(Yes) left uncalibrated: %s", exc)


def save_checkpoint(path: Path, net: RouterNet, optimizer: torch.optim.Optimizer, state: dict) -> None:
    """Atomic training checkpoint: trainable weights, optimizer, step, RNG, history."""
    import io

    buffer = io.BytesIO()
    torch.save({"weights": trainable_state(net), "optimizer": optimizer.state_dict(), **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def train_router(
    outcomes: pd.DataFrame,
    models: Sequence[str],
    cfg: ModelsatConfig,
    out_dir: Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    aptitude: AptitudeSet | None = None,
    new_models: Sequence[str] = (),
    zoos: Sequence[str] | None = None,
) -> TrainResult:
    """Train a router on the train split of `outcomes` for the zoo `models` and write it to `out_dir`.

    `new_models` get a card from their aptitude test in the router's cards.json but are never trained on. `zoos`
    (of an `import all` table, `training_data.training_zoos`) trains and validates on those zoos' queries only; the
    cards are read from the whole table, so a zoo left out can join by its models' cards.
    """
    tc = cfg.train
    models = list(models)
    started = time.time()
    accelerator = make_accelerator(device)
    torch.manual_seed(tc.seed)
    generator = torch.Generator().manual_seed(tc.seed + accelerator.process_index)
    ckpt_path = out_dir / CHECKPOINT
    checkpoint = torch.load(ckpt_path, weights_only=False) if resume and ckpt_path.is_file() else None
    if checkpoint is not None:
        aptitude = AptitudeSet.load(out_dir / "aptitude.json")
    elif aptitude is None:
        aptitude = select_aptitude_set(
            outcomes,
            models,
            tc.aptitude_tasks,
            tc.aptitude_per_task,
            tc.seed,
            method=tc.aptitude_method,
            sampling=tc.aptitude_sampling,
            other_tasks=tc.aptitude_other_tasks,
        )
    cards_by_model = build_cards(outcomes, aptitude, models + [m for m in new_models if m not in models], partial=True)
    for card in cards_by_model.values():
        if card.is_partial:
            log.info("%s has a partial card: not tested on %s", card.model, ", ".join(card.untested_entries()))
    selection = selection_models(outcomes, models, tc, aptitude.query_ids, zoos)
    blocks = zoo_blocks(outcomes, models, selection, tc, cards_by_model, aptitude.query_ids, zoos)
    n_train, n_val = sum(len(b.train.prompts) for b in blocks), sum(len(b.val.prompts) for b in blocks)
    log.info("training on %d informative train queries, validating on %d", n_train, n_val)
    if selection:
        log.info("held out of the loss, joining validation by card: %s", ", ".join(selection))
    val_cost = validation_costs(outcomes, blocks[0].val) if tc.select_by == "aiq" else None

    dev = accelerator.device
    net = RouterNet.build(cfg.router, device=dev)
    reader = RoutingTextReader.for_router(net.llm_tokenizer, cfg.router)  # what routing will read of each prompt
    for block in blocks:
        block.train.prompts, block.val.prompts = reader.texts(block.train.prompts), reader.texts(block.val.prompts)
    if cfg.router.reads_prototypes:
        net.prototypes = aptitude_prototypes(net.capability.embed_texts, aptitude, outcomes, reader)
    bf16 = use_bf16(tc.bf16, dev)
    total = tc.stage1_steps + tc.stage2_steps
    budget = TimeBudget(started + 60 * tc.max_minutes, tc.eval_every, total) if tc.max_minutes else None
    step, best, history = 0, -1.0, []
    stage = 1 if tc.stage1_steps > 0 else 2
    if checkpoint is not None:
        step, best, history = checkpoint["step"], checkpoint["best"], checkpoint["history"]
        stage = 1 if step < tc.stage1_steps else 2
    optimizer = set_stage(net, cfg, stage)
    if checkpoint is not None:
        load_trainable_state(net, checkpoint["weights"])
        if checkpoint["stage"] == stage:
            optimizer.load_state_dict(checkpoint["optimizer"])
        generator.manual_seed(tc.seed + step + accelerator.process_index)
        log.info("resumed at step %d (best validation %s %.4f)", step, tc.select_by, best)
    average = None
    if tc.ema_decay is not None:
        average = WeightAverage(tc.ema_decay, checkpoint.get("average") if checkpoint is not None else None)
    model, optimizer = accelerator.prepare(net, optimizer)
    rng = np.random.default_rng([tc.seed, step, accelerator.process_index])
    groups = TaskGroups.from_outcomes(outcomes, aptitude, blocks[0].train.query_ids) if tc.mixed_models else None
    meta = {
        "zoo": models,
        "new_models": list(new_models),
        "selection_models": selection,
        "seed": tc.seed,
        "n_train_queries": n_train,
        "zoos": [block.zoo for block in blocks],
    }
    if len(blocks) > 1:
        meta["train_queries_per_zoo"] = {b.zoo: len(b.train.prompts) for b in blocks}

    best_scores: list[np.ndarray] | None = None  # validation scores of the best weights, for the calibration
    lora = cfg.router.lora
    # stage 2 leaves the stored prefixes and instruction embeddings as they are
    prefix_frozen = (lora is None or lora.scope == "suffix") and not tc.stage2_train_encoder
    if (stage == 1 or prefix_frozen) and tc.prefix_store:
        for block in blocks:
            within = "" if len(blocks) == 1 else block.zoo  # one zoo: the store's place before zoos had blocks
            with accelerator.main_process_first():
                rows_bf16 = tc.prefix_store_dtype == "bf16"
                block.store = PrefixStore.open_or_build(
                    net, block.train.prompts, out_dir / PREFIX_STORE / within, bf16, rows_bf16
                )
            if accelerator.is_main_process:
                block.val_store = PrefixStore.open_or_build(
                    net,
                    block.val.prompts,
                    out_dir / VAL_PREFIX_STORE / within,
                    bf16,
                    rows_bf16=False,
                    desc="validation prefixes",
                )

    def evaluate_and_keep(at_step: int) -> None:
        nonlocal best, best_scores
        if accelerator.is_main_process:
            began = time.time()
            with average.swapped_in(net) if average is not None else nullcontext():
                scores = []
                for block in blocks:
                    if (stage == 1 or prefix_frozen) and block.val_store is not None:  # unchanged prefixes: stored
                        scores.append(score_stored(net, block.val_store, block.val_cards, batch_size=32, bf16=bf16))
                    else:
                        scores.append(validation_scores(net, block.val, block.val_cards, bf16))
                entry = validation_entry(at_step, scores, blocks)
                if val_cost is not None:
                    entry["val_aiq"] = validation_aiq(scores[0], val_cost, blocks[0].val.scores)
                if entry[f"val_{tc.select_by}"] > best:
                    best, best_scores = entry[f"val_{tc.select_by}"], scores
                    at = meta | {"step": at_step}
                    save_router(net, cfg, out_dir, aptitude=aptitude, cards=cards_by_model, meta=at)
            if budget is not None:
                budget.record_eval(time.time() - began)
            history.append(entry | {"seconds": round(time.time() - started, 1)})
            write_metrics(out_dir, {"history": history, f"best_val_{tc.select_by}": best, "bf16": bf16})
        accelerator.wait_for_everyone()

    if checkpoint is None:
        evaluate_and_keep(0)
    model.train()
    bar = tqdm(total=total, initial=step, desc="train", dynamic_ncols=True, disable=not accelerator.is_main_process)
    lengths = {block.zoo: block.lengths for block in blocks}
    model_weights = {block.zoo: block.model_weights() if tc.strong_model_weighting else None for block in blocks}
    first_step = step
    while step < total:
        step_began = time.time()
        if step == tc.stage1_steps and stage == 1:
            stage = 2
            optimizer = set_stage(net, cfg, stage)
            model, optimizer = accelerator.prepare(net, optimizer)
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * lr_at(step, total, tc)
        block = draw_block(blocks, rng)
        train, cards, store = block.train, block.cards, block.store
        if not block.pending:
            block.pending = train.length_bucketed_batches(
                tc.batch_instructions, LENGTH_BUCKETS, rng, tc.discriminative_weighting, lengths[block.zoo]
            )
        rows = block.pending.pop()
        step_cards, step_targets, step_weights = cards, train.scores[rows], model_weights[block.zoo]
        if groups is not None:
            extra_cards, extra_targets = mix_models(
                cards, step_targets, groups.of_queries[rows], groups, tc.mixed_models, rng
            )
            step_cards, step_targets = cards + extra_cards, np.concatenate([step_targets, extra_targets], axis=1)
            if step_weights is not None:
                step_weights = torch.cat([step_weights, torch.ones(len(extra_cards), dtype=step_weights.dtype)])
        if tc.cards_per_step is not None and tc.cards_per_step < len(step_cards):
            draw_weights = train.model_accuracy**tc.card_sampling_power if tc.card_sampling_power > 0 else None
            cols = card_subset(len(step_cards), tc.cards_per_step, rng, draw_weights)
            step_cards, step_targets = [step_cards[c] for c in cols], step_targets[:, cols]
            step_weights = None if step_weights is None else step_weights[torch.as_tensor(cols)]
        step_cards = [drop_entries(card, rng, tc.card_dropout) for card in step_cards]
        targets = torch.tensor(step_targets, dtype=torch.float32, device=dev)
        order_seed = int(rng.integers(1 << 30)) if tc.shuffle_clauses else None
        if (stage == 1 or prefix_frozen) and store is not None:
            mask, cache, embedded = store.batch(rows, torch.bfloat16 if bf16 else torch.float32, dev)
            inputs = {"cache": cache, "embedded": embedded}
        else:
            instructions = [train.prompts[i] for i in rows]
            ids, mask = net.prefixes(instructions)
            prefix_grad = stage == 2 and lora is not None and lora.scope == "all"  # adapters change the prefix
            inputs = {"prefix_ids": ids, "instructions": instructions, "prefix_grad": prefix_grad}
        with autocast(dev, bf16):
            scores = model(mask, step_cards, order_seed=order_seed, **inputs)
        loss = scores.new_zeros(())
        if tc.loss in ("card", "both"):
            loss = loss + card_group_loss(scores, targets, tc.group_size, generator, step_weights)
        if tc.loss in ("instruction", "both"):
            loss = loss + instruction_listwise_loss(scores, targets)
        if tc.pointwise_weight > 0:
            loss = loss + tc.pointwise_weight * pointwise_loss(scores, targets)
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_([p for g in optimizer.param_groups for p in g["params"]], 1.0)
        optimizer.step()
        if net.encoder_tuned:  # cached clause embeddings are stale
            net.clause_cache.clear()
        if average is not None:
            average.update(net)
        step += 1
        if budget is not None:
            budget.record_step(time.time() - step_began)
            if step - first_step == PLAN_AFTER_STEPS or step % tc.eval_every == 0:
                planned = budget.last_step(step, time.time()) if accelerator.is_main_process else total
                total = broadcast_object_list([planned])[0]
                bar.total = total
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{best:.4f}", stage=stage)
        if step % tc.eval_every == 0 or step == total:
            evaluate_and_keep(step)
        if accelerator.is_main_process and (step % tc.checkpoint_every == 0 or step == total):
            state = {"step": step, "stage": stage, "best": best, "history": history}
            if average is not None:
                state["average"] = average.state_dict()
            save_checkpoint(ckpt_path, net, optimizer, state)
    bar.close()
    if accelerator.is_main_process:
        for folder in (PREFIX_STORE, VAL_PREFIX_STORE):  # only needed to resume: free their disk space
            shutil.rmtree(out_dir / folder, ignore_errors=True)
        if best_scores is None:  # the best weights predate --resume: score them again
            load_trainable_state(net, load_file(str(out_dir / "weights.safetensors")))
            best_scores = [validation_scores(net, b.val, b.val_cards, bf16) for b in blocks]
        save_calibration(out_dir, best_scores, blocks)
    seconds = time.time() - started
    if accelerator.is_main_process:
        metrics = {"history": history, f"best_val_{tc.select_by}": best, "bf16": bf16, "train_seconds": seconds}
        write_metrics(out_dir, metrics | {"processes": accelerator.num_processes})
    return TrainResult(out_dir, best, history, seconds)
