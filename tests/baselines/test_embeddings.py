import numpy as np
import pytest

from modelsat.baselines.embeddings import CachedEmbedder


@pytest.mark.slow
def test_minilm_embeddings_are_unit_norm_and_cached(tmp_path, monkeypatch) -> None:
    embedder = CachedEmbedder("minilm", cache_dir=tmp_path)
    texts = ["What is the derivative of x^2?", "Who wrote Hamlet?", "What is the derivative of x^3?"]
    vectors = embedder(texts)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]  # the two calculus questions are closer

    def fail(texts):
        raise AssertionError("cached texts must not be encoded again")

    fresh = CachedEmbedder("minilm", cache_dir=tmp_path)
    monkeypatch.setattr(fresh, "_encode", fail)
    np.testing.assert_array_equal(fresh(texts[::-1]), vectors[::-1])
    assert CachedEmbedder("minilm", max_length=32, cache_dir=tmp_path).key(texts[0]) != embedder.key(texts[0])
