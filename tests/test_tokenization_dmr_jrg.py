from __future__ import annotations

import numpy as np
import pytest

from dmr_jrg_hf.configuration_dmr_jrg import DMRJRGConfig
from dmr_jrg_hf.errors import ConfigError, DataFormatError
from dmr_jrg_hf.processing_dmr_jrg import DMRJRGProcessor
from dmr_jrg_hf.tokenization_dmr_jrg import SPECIAL_TOKENS, WordVocabulary, tokenize

CORPUS = ["The man opens the door.", "A dog barks!", "the man's dog runs"]


def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize(" The man's DOG, runs!") == ["the", "man's", "dog", "runs"]


def test_embedded_word2vec_default_is_deterministic():
    first = WordVocabulary.from_corpus(CORPUS, embedding_dim=6, seed=3)
    second = WordVocabulary.from_corpus(CORPUS, embedding_dim=6, seed=3)
    assert first.words[:3] == list(SPECIAL_TOKENS)
    assert first.words == second.words
    np.testing.assert_array_equal(first.vectors, second.vectors)
    assert first.vectors.shape == (len(first.words), 6)
    assert not first.vectors[first.pad_id].any(), "<pad> must be the zero vector"


def _write_word2vec(path, words, dim, binary):
    from gensim.models import KeyedVectors

    keyed = KeyedVectors(vector_size=dim)
    vectors = np.arange(len(words) * dim, dtype=np.float32).reshape(len(words), dim) / 10
    keyed.add_vectors(words, vectors)
    keyed.save_word2vec_format(str(path), binary=binary)
    return dict(zip(words, vectors, strict=True))


@pytest.mark.parametrize("binary", [False, True])
def test_vectors_from_word2vec_file(tmp_path, binary):
    path = tmp_path / ("vectors.bin" if binary else "vectors.txt")
    expected = _write_word2vec(path, ["the", "man", "dog", "door"], 4, binary)
    config = DMRJRGConfig.from_preset("tiny", word_embedding_dim=4)
    processor = DMRJRGProcessor.from_corpus(CORPUS, config=config, word_vectors=path)
    for word, vector in expected.items():
        np.testing.assert_allclose(processor.word_vectors[processor.vocabulary.index[word]], vector, err_msg=word)
    assert processor.vocabulary.num_words_without_vector == len(processor.vocabulary) - 3 - 4
    assert config.vocab_size == 40, "from_corpus leaves the config alone (build_model_and_processor sets vocab_size)"


def test_glove_file_without_header(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 0.1 0.2\nman 0.3 0.4\n", encoding="utf-8")
    config = DMRJRGConfig.from_preset("tiny", word_embedding_dim=2)
    from dmr_jrg_hf.tokenization_dmr_jrg import load_word_vectors

    processor = DMRJRGProcessor.from_corpus(
        CORPUS, config=config, word_vectors=load_word_vectors(path, no_header=True)
    )
    np.testing.assert_allclose(processor.word_vectors[processor.vocabulary.index["man"]], [0.3, 0.4])


def test_dimension_mismatch_is_a_config_error(tmp_path):
    path = tmp_path / "vectors.txt"
    _write_word2vec(path, ["the", "man"], 4, binary=False)
    with pytest.raises(ConfigError, match="set word_embedding_dim=4"):
        WordVocabulary.from_corpus(CORPUS, embedding_dim=8, word_vectors=path)


def test_missing_or_malformed_file(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        WordVocabulary.from_corpus(CORPUS, embedding_dim=4, word_vectors=tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("not a header\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="bad.txt"):
        WordVocabulary.from_corpus(CORPUS, embedding_dim=4, word_vectors=bad)


def test_postprocessing_center_and_whiten():
    from dmr_jrg_hf.tokenization_dmr_jrg import postprocess_vectors

    rng = np.random.default_rng(0)
    shared = np.ones(6, dtype=np.float32)
    vectors = shared + 0.05 * rng.standard_normal((10, 6)).astype(np.float32)  # ten near-identical vectors
    mean_norm = np.linalg.norm(vectors, axis=1).mean()
    np.testing.assert_array_equal(postprocess_vectors(vectors, "none"), vectors)
    for method in ("center", "whiten"):
        processed = postprocess_vectors(vectors, method)
        np.testing.assert_allclose(np.linalg.norm(processed, axis=1), mean_norm, rtol=1e-5, err_msg=method)
        unit = processed / np.linalg.norm(processed, axis=1, keepdims=True)
        off_diagonal = (unit @ unit.T)[~np.eye(10, dtype=bool)]
        assert off_diagonal.mean() < 0.05, f"{method}: vectors still share a direction"
    whitened = postprocess_vectors(vectors, "whiten")
    centered = whitened - whitened.mean(0)
    variances = np.linalg.svd(centered, compute_uv=False)
    assert variances[:5].max() / variances[:5].min() < 3.0, "whitening leaves unequal principal variances"
    with pytest.raises(ConfigError, match="post-processing must be one of"):
        postprocess_vectors(vectors, "pca")


def test_processor_saves_postprocessed_vectors(tmp_path):
    config = DMRJRGConfig.from_preset("tiny", word_embedding_dim=6, word_vector_postprocessing="whiten")
    processor = DMRJRGProcessor.from_corpus(CORPUS * 3, config=config)
    processor.save_pretrained(tmp_path)
    np.testing.assert_array_equal(DMRJRGProcessor.from_pretrained(tmp_path).word_vectors, processor.word_vectors)
    assert not processor.word_vectors[processor.vocabulary.pad_id].any()
