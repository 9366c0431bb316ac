"""Sentence embeddings for the learned baselines, cached on disk (MiniLM mean pooling by default).

Encoding ~12k MMLU-Pro prompts takes minutes on 2 CPU cores, so each vector is stored once in a
SQLite file under `$MODELSAT_CACHE/embeddings` (default ~/.cache/modelsat/embeddings), keyed by
the encoder spec, the truncation length and the sha256 of the text.

Example:
    vectors = CachedEmbedder("minilm")(["What is 2 + 2?", "Name a noble gas."])  # (2, 384), unit norm
"""

import hashlib
import os
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

Embedder = Callable[[Sequence[str]], np.ndarray]


def embeddings_dir() -> Path:
    """`$MODELSAT_CACHE/embeddings`, default ~/.cache/modelsat/embeddings."""
    return Path(os.environ.get("MODELSAT_CACHE", Path.home() / ".cache" / "modelsat")) / "embeddings"


class CachedEmbedder:
    """Callable text → unit-norm float32 vectors with an on-disk cache.

    Args:
        spec: encoder spec for `modelsat.models.loading.load_encoder` ("minilm", an HF id or a path).
        max_length: tokens kept per text (all-MiniLM-L6-v2 was trained with 256).
        batch_size: texts per forward pass.
        cache_dir: folder of the SQLite cache (default `embeddings_dir()`).
    """

    def __init__(
        self, spec: str = "minilm", max_length: int = 256, batch_size: int = 32, cache_dir: Path | None = None
    ):
        self.spec, self.max_length, self.batch_size = spec, max_length, batch_size
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", spec).strip("_")
        self.path = (cache_dir or embeddings_dir()) / f"{slug}-{max_length}.sqlite"
        self._model = None

    def key(self, text: str) -> str:
        """Cache key: sha256 over spec, truncation length and text."""
        return hashlib.sha256(f"{self.spec}\0{self.max_length}\0{text}".encode()).hexdigest()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Embed `texts` (cached ones are read, the rest encoded and stored); shape (len(texts), dim)."""
        keys = [self.key(t) for t in texts]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(self.path, timeout=60) as db:
            db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, vec BLOB)")
            found = self._read(db, set(keys))
            missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
            for start in range(0, len(missing), 512):
                chunk = missing[start : start + 512]
                vectors = self._encode([t for _, t in chunk])
                rows = [(k, v.tobytes()) for (k, _), v in zip(chunk, vectors, strict=True)]
                db.executemany("INSERT OR REPLACE INTO emb VALUES (?, ?)", rows)
                db.commit()
                found.update({k: v for (k, _), v in zip(chunk, vectors, strict=True)})
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)

    @staticmethod
    def _read(db: sqlite3.Connection, keys: set[str]) -> dict[str, np.ndarray]:
        """Cached vectors for `keys`."""
        out: dict[str, np.ndarray] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), 900):  # SQLite caps bound parameters per statement
            part = wanted[start : start + 900]
            rows = db.execute(f"SELECT key, vec FROM emb WHERE key IN ({','.join('?' * len(part))})", part)
            out.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised encoder outputs; texts sorted by length to keep padding small."""
        import torch

        from modelsat.models.loading import load_encoder

        if self._model is None:
            self._model = load_encoder(self.spec)
        model, tokenizer = self._model
        model.eval()
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), model.config.hidden_size), np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = model(**batch).last_hidden_state  # (B, T, D)
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, D)
                out[idx] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out
