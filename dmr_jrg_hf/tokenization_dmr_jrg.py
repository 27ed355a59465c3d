"""Word side of the DMR-JRG processor: tokenisation, vocabulary and frozen word2vec vectors (paper §III-C-1).

The paper embeds words with word2vec and keeps the vectors fixed. `WordVocabulary` holds the words (ids 0, 1, 2 are
``<pad>``, ``<unk>``, ``<mask>``) and a float32 matrix ``(vocab_size, word_embedding_dim)`` whose row ``i`` is the
vector of word ``i``. Vectors come from any word2vec-format file (binary or text, GloVe text with ``no_header``)
or, as the embedded default, from a gensim ``Word2Vec`` trained on the training sentences. Saved as JSON +
safetensors, never pickle.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from .errors import ConfigError, DataFormatError

__all__ = [
    "SPECIAL_TOKENS",
    "VECTOR_POSTPROCESSING",
    "WordVocabulary",
    "tokenize",
    "load_word_vectors",
    "postprocess_vectors",
]

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("<pad>", "<unk>", "<mask>")
VECTOR_POSTPROCESSING = ("none", "center", "whiten")
VOCABULARY_FILE = "vocab.json"
WORD_VECTORS_FILE = "word_vectors.safetensors"
_WORD_PATTERN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def tokenize(sentence: str) -> list[str]:
    """Lower-case alphanumeric words (with an apostrophe suffix such as ``person's``), punctuation dropped."""
    return _WORD_PATTERN.findall(sentence.lower())


def load_word_vectors(path: str | Path, binary: bool | None = None, no_header: bool = False):
    """Load a word2vec-format file with gensim (``.bin``/``.bin.gz`` read as binary unless ``binary`` says otherwise).

    Args:
        path (str or Path): word2vec binary, word2vec text, or GloVe text (``no_header=True``).
        binary (bool, optional): force binary or text parsing.
        no_header (bool): the file has no ``<count> <dim>`` header line (GloVe).

    Returns:
        gensim.models.KeyedVectors
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"word-vector file not found: {path}")
    if binary is None:
        binary = path.name.endswith((".bin", ".bin.gz"))
    try:
        return KeyedVectors.load_word2vec_format(str(path), binary=binary, no_header=no_header)
    except (ValueError, UnicodeDecodeError, EOFError) as error:
        raise DataFormatError(f"{path}: not a word2vec-format file ({error})") from error


def _train_word2vec(tokenized: list[list[str]], dim: int, seed: int, epochs: int):
    """Embedded default: gensim Word2Vec (skip-gram) on the training sentences, one worker for determinism."""
    from gensim.models import Word2Vec

    model = Word2Vec(
        sentences=tokenized, vector_size=dim, window=5, min_count=1, sg=1, workers=1, seed=seed, epochs=epochs
    )
    return model.wv


def postprocess_vectors(vectors: np.ndarray, method: str) -> np.ndarray:
    """Post-process word vectors (rows) before they are frozen.

    ``"none"`` keeps them. ``"center"`` removes the mean vector, the direction every word2vec vector shares.
    ``"whiten"`` also rotates to the principal axes and scales each to unit variance (PCA whitening), so that words
    which a small corpus gives almost the same vector (a templated corpus puts every verb in the same contexts) stay
    distinguishable for the frozen input of the Bi-LSTM. Norms are rescaled to the mean norm of the input.

    Args:
        vectors (np.ndarray of shape (num_words, dim)).
        method (str): one of ``VECTOR_POSTPROCESSING``.
    """
    if method not in VECTOR_POSTPROCESSING:
        raise ConfigError(f"word-vector post-processing must be one of {VECTOR_POSTPROCESSING}, got {method!r}")
    if method == "none" or len(vectors) < 2:
        return vectors
    mean_norm = float(np.linalg.norm(vectors, axis=1).mean())
    centered = vectors - vectors.mean(axis=0, keepdims=True)
    if method == "whiten":
        _, singular_values, axes = np.linalg.svd(centered, full_matrices=False)
        scale = np.where(singular_values > 1e-6 * singular_values.max(), 1.0 / np.maximum(singular_values, 1e-12), 0.0)
        centered = centered @ axes.T * scale  # (num_words, rank) rotated and scaled, padded back to dim below
        centered = np.pad(centered, ((0, 0), (0, vectors.shape[1] - centered.shape[1])))
    norms = np.linalg.norm(centered, axis=1, keepdims=True)
    return (centered * mean_norm / np.maximum(norms, 1e-12)).astype(np.float32)


class WordVocabulary:
    """Words and their frozen vectors.

    Args:
        words (Sequence[str]): every word, specials first (``SPECIAL_TOKENS``); the position is the id.
        vectors (np.ndarray of shape (vocab_size, word_embedding_dim)): row ``i`` is the vector of ``words[i]``.
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        words = list(words)
        if tuple(words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise DataFormatError(f"vocabulary must start with {SPECIAL_TOKENS}, got {words[:3]}")
        if len(set(words)) != len(words):
            duplicate = next(word for word, count in Counter(words).items() if count > 1)
            raise DataFormatError(f"vocabulary lists the word {duplicate!r} twice")
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise DataFormatError(f"word vectors must have shape ({len(words)}, dim), got {vectors.shape}")
        self.words = words
        self.vectors = vectors
        self.index = {word: i for i, word in enumerate(words)}
        self.num_words_without_vector = 0

    def __len__(self) -> int:
        return len(self.words)

    @property
    def embedding_dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def pad_id(self) -> int:
        return self.index["<pad>"]

    @property
    def unk_id(self) -> int:
        return self.index["<unk>"]

    @property
    def mask_id(self) -> int:
        return self.index["<mask>"]

    def encode(self, words: Iterable[str]) -> list[int]:
        """Word ids, ``<unk>`` for words outside the vocabulary."""
        return [self.index.get(word, self.unk_id) for word in words]

    @classmethod
    def from_corpus(
        cls,
        sentences: Iterable[str],
        embedding_dim: int,
        word_vectors=None,
        seed: int = 0,
        word2vec_epochs: int = 20,
        postprocessing: str = "none",
    ) -> WordVocabulary:
        """Build the vocabulary of a corpus with frozen vectors.

        Args:
            sentences (Iterable[str]): the training sentences.
            embedding_dim (int): d_s, must equal the vectors' dimension.
            word_vectors: ``None`` (train gensim Word2Vec on ``sentences``), a path to a word2vec-format file, or a
                gensim ``KeyedVectors``.
            seed (int): seeds Word2Vec and the vectors of words missing from a pretrained file.
            word2vec_epochs (int): training epochs of the embedded Word2Vec.
            postprocessing (str): `postprocess_vectors` method applied to the corpus words' vectors.

        Note:
            Corpus words missing from a pretrained file keep their own id with a seeded random vector of the file's
            mean norm (they are counted and logged); at inference, words never seen in the corpus map to ``<unk>``.
        """
        tokenized = [tokenize(sentence) for sentence in sentences]
        counts = Counter(word for words in tokenized for word in words)
        if not counts:
            raise DataFormatError("cannot build a vocabulary: the corpus has no words")
        corpus_words = sorted(counts, key=lambda word: (-counts[word], word))
        if word_vectors is None:
            keyed = _train_word2vec([words for words in tokenized if words], embedding_dim, seed, word2vec_epochs)
        elif isinstance(word_vectors, str | Path):
            keyed = load_word_vectors(word_vectors)
        else:
            keyed = word_vectors
        if keyed.vector_size != embedding_dim:
            raise ConfigError(
                f"word vectors have dimension {keyed.vector_size} but config.word_embedding_dim is {embedding_dim}; "
                f"set word_embedding_dim={keyed.vector_size}"
            )
        vocabulary = cls._from_keyed_vectors(corpus_words, keyed, seed)
        corpus_rows = slice(len(SPECIAL_TOKENS), None)
        vocabulary.vectors[corpus_rows] = postprocess_vectors(vocabulary.vectors[corpus_rows], postprocessing)
        return vocabulary

    @classmethod
    def _from_keyed_vectors(cls, corpus_words: list[str], keyed, seed: int) -> WordVocabulary:
        rng = np.random.default_rng(seed)
        dim = keyed.vector_size
        known = [word for word in corpus_words if word in keyed.key_to_index]
        mean_norm = float(np.linalg.norm(keyed.vectors, axis=1).mean()) if len(keyed.vectors) else 1.0
        missing = len(corpus_words) - len(known)
        if missing:
            logger.info(
                "%d of %d corpus words have no pretrained vector; they get random vectors", missing, len(corpus_words)
            )
        vectors = np.zeros((len(SPECIAL_TOKENS) + len(corpus_words), dim), dtype=np.float32)
        random_rows = rng.standard_normal((len(corpus_words) + 1, dim)).astype(np.float32)
        random_rows *= mean_norm / np.linalg.norm(random_rows, axis=1, keepdims=True)
        vectors[SPECIAL_TOKENS.index("<mask>")] = random_rows[-1]
        for row, word in enumerate(corpus_words, start=len(SPECIAL_TOKENS)):
            vectors[row] = keyed[word] if word in keyed.key_to_index else random_rows[row - len(SPECIAL_TOKENS)]
        vocabulary = cls([*SPECIAL_TOKENS, *corpus_words], vectors)
        vocabulary.num_words_without_vector = missing
        return vocabulary

    def save(self, directory: str | Path) -> None:
        """Write ``vocab.json`` (the word list) and ``word_vectors.safetensors`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / VOCABULARY_FILE).write_text(json.dumps(self.words, ensure_ascii=False), encoding="utf-8")
        save_file({"word_vectors": np.ascontiguousarray(self.vectors)}, str(directory / WORD_VECTORS_FILE))

    @classmethod
    def load(cls, vocabulary_file: str | Path, vectors_file: str | Path) -> WordVocabulary:
        """Read the two files written by `save`."""
        words = json.loads(Path(vocabulary_file).read_text(encoding="utf-8"))
        vectors = load_file(str(vectors_file))["word_vectors"]
        return cls(words, vectors)
