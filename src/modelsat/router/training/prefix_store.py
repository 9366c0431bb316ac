"""Prefix store: the frozen LLM's KV cache and the encoder embedding of every training instruction.

While the LLM and the encoder are frozen (stage 1), an instruction's prefix forward and its encoder
embedding never change, yet they are nearly all of a training step's cost. The store computes them
once, keeps the KV rows on disk (a memory map, one slice per instruction, no padding; in bf16 or
fp32) and assembles a left-padded `DynamicCache` for any batch of rows, so a step costs only the
short per-candidate suffixes: many more instructions per minute on a CPU. bf16 rows halve the disk
and page cache a store needs (the KV rounded as bf16 training rounds it); scores read from fp32 rows
equal those of a fresh prefix forward (tested), so validation reads its queries' prefixes from an
fp32 store. A finished store is reused when its fingerprint (prompts, LLM, encoder, prompt layout,
row dtype) matches, so `--resume` does not recompute it.

Example:
    store = PrefixStore.open_or_build(net, prompts, Path("run/checkpoints/prefixes"), bf16=False, rows_bf16=True)
    mask, cache, embedded = store.batch(np.array([3, 17, 42]), dtype=torch.float32)
    log_odds = score_stored(net, store, cards)  # (len(prompts), len(cards))
"""

import hashlib
import json
import logging
import math
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import DynamicCache, PretrainedConfig

from modelsat.aptitude.cards import Card
from modelsat.io import atomic_write_text
from modelsat.router.routing.llm.inference import autocast, perturbation_seeds
from modelsat.router.routing.llm.model import RouterNet

log = logging.getLogger(__name__)
META = "meta.json"
KV_FILE = "kv.bin"
EMBEDDINGS_FILE = "embeddings.npy"


def store_fingerprint(net: RouterNet, prompts: Sequence[str], rows_bf16: bool) -> str:
    """sha256 over what a stored prefix depends on: the router config, the row dtype and every prompt."""
    digest = hashlib.sha256(net.cfg.model_dump_json().encode() + (b"bf16" if rows_bf16 else b"fp32"))
    for prompt in prompts:
        digest.update(hashlib.sha256(prompt.encode()).digest())
    return digest.hexdigest()[:16]


@dataclass
class PrefixStore:
    """Per-instruction prefix KV rows (tokens, layers, 2, kv heads, head dim) and encoder embeddings."""

    lengths: np.ndarray  # (Q,) real prefix tokens per instruction
    offsets: np.ndarray  # (Q,) first token row of each instruction
    kv: np.ndarray  # (total tokens, layers, 2, heads, head dim), memory-mapped: bf16 bits as uint16, or fp32
    embeddings: torch.Tensor | None  # (Q, D_enc) under instruction pooling, else None
    llm_config: PretrainedConfig

    @classmethod
    def open_or_build(
        cls,
        net: RouterNet,
        prompts: Sequence[str],
        folder: Path,
        bf16: bool,
        rows_bf16: bool | None = None,
        batch_size: int = 16,
        desc: str = "prefix store",
    ) -> "PrefixStore | None":
        """Open the store in `folder` if it holds these prompts for this router, else compute it there
        (under bf16 autocast when `bf16`; rows kept in bf16 when `rows_bf16`, default: as computed);
        None (with a warning) when the disk cannot hold it."""
        rows_bf16 = bf16 if rows_bf16 is None else rows_bf16
        fingerprint = store_fingerprint(net, prompts, rows_bf16)
        meta_path = folder / META
        if meta_path.is_file() and json.loads(meta_path.read_text()).get("fingerprint") == fingerprint:
            return cls.open(folder, net)
        folder.mkdir(parents=True, exist_ok=True)
        meta_path.unlink(missing_ok=True)  # a store without meta.json is incomplete
        (folder / KV_FILE).unlink(missing_ok=True)
        prefix_rows, _ = net.layout.prefix_ids(net.llm_tokenizer, prompts)
        lengths = np.array([len(ids) for ids in prefix_rows], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        shape = (int(lengths.sum()), *kv_row_shape(net.llm.config))
        needed = math.prod(shape) * (2 if rows_bf16 else 4)
        free = shutil.disk_usage(folder).free
        if needed > 0.9 * free:
            log.warning(
                "prefix store skipped: it needs %.1f GB and %s has %.1f GB free; prefixes are computed every step",
                needed / 1e9,
                folder,
                free / 1e9,
            )
            return None
        kv = np.lib.format.open_memmap(
            folder / KV_FILE, mode="w+", dtype=np.uint16 if rows_bf16 else np.float32, shape=shape
        )
        embeddings = np.zeros((len(prompts), net.capability.encoder.config.hidden_size), dtype=np.float32)
        was_training = net.training
        net.eval()
        order = np.argsort(lengths, kind="stable")
        with torch.no_grad(), autocast(net.device, bf16):
            for start in tqdm(range(0, len(order), batch_size), desc=desc, dynamic_ncols=True):
                rows = order[start : start + batch_size]
                ids, mask = net.layout.left_pad([prefix_rows[i] for i in rows])
                cache = net.encode_prefix(ids.to(net.device), mask.to(net.device))
                stacked = torch.stack([torch.stack([layer.keys, layer.values]) for layer in cache.layers])
                stacked = stacked.permute(2, 4, 0, 1, 3, 5)  # (B, L, layers, 2, heads, hd)
                stacked = stacked.to(torch.bfloat16).view(torch.uint16) if rows_bf16 else stacked.float()
                for j, row in enumerate(rows):
                    n = int(lengths[row])
                    kv[offsets[row] : offsets[row] + n] = stacked[j, -n:].cpu().numpy()
                if net.reads_instruction_embedding:
                    embeddings[rows] = net.capability.embed_texts([prompts[i] for i in rows]).float().cpu().numpy()
        net.train(was_training)
        kv.flush()
        np.save(folder / EMBEDDINGS_FILE, embeddings)
        meta = {"fingerprint": fingerprint, "lengths": lengths.tolist(), "offsets": offsets.tolist()}
        atomic_write_text(folder / META, json.dumps(meta))
        return cls.open(folder, net)

    @classmethod
    def open(cls, folder: Path, net: RouterNet) -> "PrefixStore":
        """Memory-map a finished store."""
        meta = json.loads((folder / META).read_text())
        embeddings = torch.from_numpy(np.load(folder / EMBEDDINGS_FILE)) if net.reads_instruction_embedding else None
        return cls(
            lengths=np.array(meta["lengths"], dtype=np.int64),
            offsets=np.array(meta["offsets"], dtype=np.int64),
            kv=np.load(folder / KV_FILE, mmap_mode="r"),
            embeddings=embeddings,
            llm_config=net.llm.config,
        )

    def batch(
        self, rows: np.ndarray, dtype: torch.dtype, device: torch.device | str = "cpu"
    ) -> tuple[torch.Tensor, DynamicCache, torch.Tensor | None]:
        """Left-padded (B, L) mask, the batch's KV cache and its (B, D_enc) encoder embeddings."""
        lengths = self.lengths[rows]
        width = int(lengths.max())
        stored_dtype = torch.bfloat16 if self.kv.dtype == np.uint16 else torch.float32
        padded = torch.zeros((len(rows), width, *self.kv.shape[1:]), dtype=stored_dtype)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for j, row in enumerate(rows):
            n, start = int(lengths[j]), int(self.offsets[row])
            padded[j, width - n :] = torch.from_numpy(np.array(self.kv[start : start + n])).view(stored_dtype)
            mask[j, width - n :] = 1
        per_layer = padded.to(device=device, dtype=dtype).permute(2, 3, 0, 4, 1, 5)  # (layers, 2, B, heads, L, hd)
        cache = DynamicCache(config=self.llm_config)
        for layer, (keys, values) in enumerate(per_layer):
            cache.update(keys, values, layer)
        embedded = None if self.embeddings is None else self.embeddings[torch.as_tensor(rows)].to(device)
        return mask.to(device), cache, embedded


def kv_row_shape(config: PretrainedConfig) -> tuple[int, int, int, int]:
    """(layers, 2, kv heads, head dim) of one token's KV entries."""
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    return config.num_hidden_layers, 2, config.num_key_value_heads, head_dim


@torch.no_grad()
def score_stored(
    net: RouterNet, store: PrefixStore, cards: Sequence[Card], batch_size: int = 32, bf16: bool = False
) -> np.ndarray:
    """(Q, N) log-odds of every stored prompt × card in eval mode, as `score_in_batches` computes them
    (averaged over the router's clause-order perturbations), reading the prefixes from `store`."""
    was_training = net.training
    net.eval()
    order = np.argsort(store.lengths, kind="stable")
    seeds = perturbation_seeds(net)
    out = np.zeros((len(order), len(cards)), dtype=np.float32)
    with autocast(net.device, bf16):
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            total = torch.zeros(len(rows), len(cards))
            for seed in seeds:  # the cache is consumed by each pass: read it again
                mask, cache, embedded = store.batch(rows, torch.bfloat16 if bf16 else torch.float32, net.device)
                total += net(mask, cards, cache=cache, embedded=embedded, order_seed=seed).float().cpu()
            out[rows] = (total / len(seeds)).numpy()
    net.train(was_training)
    return out
