"""DMR-JRG processor: paragraphs and per-frame video features in, padded model inputs out; score maps back to seconds.

Words: `WordVocabulary` (tokenisation, frozen word2vec vectors, one third of each sentence's words masked, §III-C-1),
or, for a transformer text encoder (Table VI's BERT, ``config.text_encoder``), that encoder's own tokenizer: subword
ids with ``[CLS]``/``[SEP]``, one third of the subwords (never the special tokens) masked with its mask token.
Video: `extract_clip_features` (L2 norm -> 256 frames -> K clips, §III-C-2) and the candidate mask of the 2D map.
Post-processing (`post_process_grounding`) turns score maps into moments in seconds with NMS, using the grid rule of
`geometry` only. Videos longer than ``long_video_threshold_seconds`` are grounded in windows of
``long_video_window_seconds`` (`dmr_jrg_hf.inference.long_videos`); the processor stores those settings.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoTokenizer, BatchFeature, PreTrainedTokenizerBase, ProcessorMixin
from transformers.utils import cached_file

from .configuration_dmr_jrg import DMRJRGConfig
from .errors import InputError
from .feature_extraction_dmr_jrg import (
    LONG_VIDEO_OVERLAP,
    LONG_VIDEO_RELEVANCE_TEMPERATURE,
    check_long_video_settings,
    check_video_features,
    extract_clip_features,
    long_video_defaults,
)
from .geometry import cells_to_seconds, nms_1d, valid_cell_mask
from .results import Moment
from .tokenization_dmr_jrg import VOCABULARY_FILE, WORD_VECTORS_FILE, WordVocabulary, tokenize
from .validation import check_positive_int, check_positive_seconds, check_unit_interval

__all__ = ["DMRJRGProcessor"]

PROCESSOR_CONFIG_FILE = "processor_config.json"


class DMRJRGProcessor(ProcessorMixin):
    """Turns paragraphs and video features into DMR-JRG inputs (DESIGN §2) and score maps into moments.

    Args:
        vocabulary (WordVocabulary, optional): words and frozen vectors (the Bi-LSTM text encoder).
        subword_vocabulary (PreTrainedTokenizerBase, optional): the tokenizer of a transformer text encoder (named so
            because transformers treats an argument named "*tokenizer*" as a sub-processor), instead of
            ``vocabulary`` (exactly one of the two is given); it needs a mask token. Saved into the processor's folder.
        num_clips (int): K.
        map_scale_layers (list[int]): sparse scheme of the candidate map (see `geometry.valid_cell_mask`).
        num_sampled_frames (int): frames every video is averaged to before pooling to K clips.
        word_mask_ratio (float): share of each sentence's words masked for reconstruction (at least one).
        feature_dim (int, optional): D expected from the video features; checked on every call.
        video_feature_spec (dict, optional): the feature extractor: ``name``, ``rate_per_second``, ``feature_dim``
            and, for features from ``dmr-jrg extract-features``, ``encoder`` (Hub id or folder) and
            ``frames_per_row`` (`dmr_jrg_hf.features.extractor_spec` builds it from a feature file). Every key is
            optional (absent = unknown, not checked); indexing checks the rate and the encoder of new features
            against it (`dmr_jrg_hf.inference.check_feature_spec`).
        nms_threshold (float): default IoU threshold of `post_process_grounding`.
        seed (int): base seed of the word masking.
        long_video_window_seconds (float, optional): length of the windows a long video is grounded in
            (`dmr_jrg_hf.inference.long_videos`); None (the default, and what a processor saved before chunked
            grounding loads with) turns chunking off: every video is pooled whole to K clips. `from_corpus` sets it
            from the training durations (`long_video_defaults`).
        long_video_overlap (float): share of a window that the next window overlaps, in [0, 1).
        long_video_threshold_seconds (float, optional): videos longer than this are grounded in windows; None means
            the window length. Must be at least the window length.
        long_video_relevance_temperature (float, optional): the candidates of a window are weighted by
            ``exp((cos_w - max cos) / T)``, ``cos_w`` the cosine of the paragraph's and the window's retrieval
            embeddings (`dmr_jrg_hf.inference.long_videos`); None merges the windows' scores unweighted. Default 0.1.

    Example:
        >>> import numpy as np
        >>> from dmr_jrg_hf import DMRJRGConfig, DMRJRGProcessor
        >>> config = DMRJRGConfig.from_preset("tiny")
        >>> processor = DMRJRGProcessor.from_corpus(["a man opens the door", "he walks out"], config=config)
        >>> batch = processor(text=[["a man opens the door", "he walks out"]],
        ...                   video_features=[np.random.rand(40, 12).astype("float32")], durations=[20.0])
        >>> tuple(batch["word_ids"].shape), tuple(batch["clip_features"].shape)
        ((1, 2, 5), (1, 8, 12))
    """

    def __init__(
        self,
        vocabulary: WordVocabulary | None = None,
        num_clips: int = 16,
        map_scale_layers: Sequence[int] = (16,),
        num_sampled_frames: int = 256,
        word_mask_ratio: float = 1.0 / 3.0,
        feature_dim: int | None = None,
        video_feature_spec: dict[str, Any] | None = None,
        nms_threshold: float = 0.5,
        seed: int = 0,
        long_video_window_seconds: float | None = None,
        long_video_overlap: float = LONG_VIDEO_OVERLAP,
        long_video_threshold_seconds: float | None = None,
        long_video_relevance_temperature: float | None = LONG_VIDEO_RELEVANCE_TEMPERATURE,
        subword_vocabulary: PreTrainedTokenizerBase | None = None,
    ):
        super().__init__()
        if (vocabulary is None) == (subword_vocabulary is None):
            raise InputError("DMRJRGProcessor needs exactly one of `vocabulary` (Bi-LSTM) and `subword_vocabulary`")
        if subword_vocabulary is not None and (
            subword_vocabulary.mask_token_id is None or subword_vocabulary.pad_token_id is None
        ):
            raise InputError(
                f"subword_vocabulary {subword_vocabulary.name_or_path!r} has no mask or pad token: the masked-word "
                "reconstruction (Eq. 9-11) replaces subwords by the mask token"
            )
        self.vocabulary = vocabulary
        self.subword_vocabulary = subword_vocabulary
        self.num_clips = int(num_clips)
        self.map_scale_layers = [int(n) for n in map_scale_layers]
        self.num_sampled_frames = int(num_sampled_frames)
        self.word_mask_ratio = float(word_mask_ratio)
        self.feature_dim = feature_dim
        self.video_feature_spec = dict(video_feature_spec or {})
        self.nms_threshold = float(nms_threshold)
        self.seed = int(seed)
        self.map_mask = valid_cell_mask(self.num_clips, self.map_scale_layers)
        (
            self.long_video_window_seconds,
            self.long_video_overlap,
            self.long_video_threshold_seconds,
            self.long_video_relevance_temperature,
        ) = check_long_video_settings(
            long_video_window_seconds,
            long_video_overlap,
            long_video_threshold_seconds,
            long_video_relevance_temperature,
        )

    # Construction ----------------------------------------------------------------------------------------------

    @classmethod
    def from_corpus(
        cls,
        sentences: Iterable[str],
        config: DMRJRGConfig,
        word_vectors=None,
        video_feature_spec: dict[str, Any] | None = None,
        seed: int = 0,
        training_durations: Sequence[float] | None = None,
    ) -> DMRJRGProcessor:
        """Build the vocabulary of the training sentences and take K, the map scheme and D from ``config``.

        With a transformer ``config.text_encoder`` there is no vocabulary to build: the processor loads that encoder's
        tokenizer (`AutoTokenizer`) instead, and ``sentences`` and ``word_vectors`` are not read.

        The vocabulary's size is the model's ``vocab_size``: `build_model_and_processor` sets it in the config before
        it builds the model (``config`` itself is left unchanged here).

        Args:
            sentences (Iterable[str]): training sentences.
            config (DMRJRGConfig): K, the map scheme, D, the mask ratio and ``word_vector_postprocessing``.
            word_vectors: ``None`` (gensim Word2Vec on ``sentences``), a word2vec-format file or a ``KeyedVectors``;
                the saved vectors are the post-processed ones.
            training_durations (Sequence[float], optional): seconds of the training videos; they choose the
                chunked-grounding settings (`long_video_defaults`). None: chunking off.
        """
        subword_vocabulary, vocabulary = None, None
        if config.text_encoder != "bilstm":
            subword_vocabulary = AutoTokenizer.from_pretrained(config.text_encoder)
        else:
            vocabulary = WordVocabulary.from_corpus(
                sentences,
                config.word_embedding_dim,
                word_vectors,
                seed=seed,
                postprocessing=config.word_vector_postprocessing,
            )
        return cls(
            vocabulary,
            subword_vocabulary=subword_vocabulary,
            num_clips=config.num_clips,
            map_scale_layers=config.map_scale_layers,
            num_sampled_frames=config.num_sampled_frames,
            word_mask_ratio=config.word_mask_ratio,
            feature_dim=config.feature_dim,
            video_feature_spec=video_feature_spec,
            nms_threshold=config.nms_threshold,
            seed=seed,
            **long_video_defaults(training_durations),
        )

    @property
    def word_vectors(self) -> np.ndarray | None:
        """Frozen word vectors, shape (vocab_size, word_embedding_dim); row ``i`` is word id ``i`` (None with a
        transformer's tokenizer)."""
        return None if self.vocabulary is None else self.vocabulary.vectors

    @property
    def vocab_size(self) -> int:
        """Number of ids the text side produces: the model's ``vocab_size`` (words, or the tokenizer's subwords)."""
        return len(self.vocabulary) if self.vocabulary is not None else len(self.subword_vocabulary)

    @property
    def special_ids(self) -> dict[str, int]:
        """``pad_token_id``, ``unk_token_id`` and ``mask_token_id`` of the text side, as the model's config names
        them."""
        vocabulary = self.vocabulary
        if vocabulary is not None:
            return {
                "pad_token_id": vocabulary.pad_id,
                "unk_token_id": vocabulary.unk_id,
                "mask_token_id": vocabulary.mask_id,
            }
        tokenizer = self.subword_vocabulary
        return {
            "pad_token_id": tokenizer.pad_token_id,
            "unk_token_id": tokenizer.unk_token_id,
            "mask_token_id": tokenizer.mask_token_id,
        }

    # Text -----------------------------------------------------------------------------------------------------

    def _encode_paragraph(self, paragraph: Sequence[str], index: int) -> list[list[int]]:
        if isinstance(paragraph, str) or len(paragraph) == 0:
            raise InputError(f"paragraph {index}: expected a non-empty list of sentences, got {paragraph!r}")
        encoded = []
        for position, sentence in enumerate(paragraph):
            if not isinstance(sentence, str):
                raise InputError(
                    f"paragraph {index}, sentence {position}: expected a string, got {type(sentence).__name__} "
                    f"{sentence!r}"
                )
            ids = self._encode_sentence(sentence)
            special = set(self._unmaskable_ids())
            if all(word in special or word == self.special_ids["unk_token_id"] for word in ids):
                raise InputError(
                    f"paragraph {index}, sentence {position} ({sentence!r}) has no word in the vocabulary "
                    f"of {self.vocab_size} words"
                )
            encoded.append(ids)
        return encoded

    def _encode_sentence(self, sentence: str) -> list[int]:
        """Word ids (`tokenize` + vocabulary) or the tokenizer's subword ids with its special tokens, truncated to the
        transformer's maximum length."""
        if self.vocabulary is not None:
            return self.vocabulary.encode(tokenize(sentence))
        return self.subword_vocabulary(sentence, truncation=True)["input_ids"]

    def _unmaskable_ids(self) -> list[int]:
        """Ids that are never reconstruction targets: the tokenizer's special tokens (none for the vocabulary)."""
        return [] if self.subword_vocabulary is None else list(self.subword_vocabulary.all_special_ids)

    def _mask_words(self, word_mask: np.ndarray, seed: int) -> np.ndarray:
        """Choose floor(J_m * ratio) (at least one) real words of every sentence, uniformly, without loops.

        Random keys are drawn for every position; padding gets +inf, and the positions whose key ranks below the
        sentence's mask count are masked.
        """
        rng = np.random.default_rng(seed)
        lengths = word_mask.sum(-1)  # (B, M)
        num_masked = np.where(lengths > 0, np.maximum(np.floor(lengths * self.word_mask_ratio), 1), 0)
        keys = np.where(word_mask, rng.random(word_mask.shape), np.inf)
        ranks = np.argsort(np.argsort(keys, axis=-1), axis=-1)  # (B, M, J) rank of each key within its sentence
        return ranks < num_masked[..., None]

    def _text_inputs(self, text: Sequence[Sequence[str]], mask_seed: int | None) -> dict[str, np.ndarray]:
        paragraphs = [self._encode_paragraph(paragraph, index) for index, paragraph in enumerate(text)]
        num_sentences = max(len(paragraph) for paragraph in paragraphs)
        num_words = max(len(ids) for paragraph in paragraphs for ids in paragraph)
        special_ids = self.special_ids
        word_ids = np.full((len(paragraphs), num_sentences, num_words), special_ids["pad_token_id"], dtype=np.int64)
        word_mask = np.zeros(word_ids.shape, dtype=bool)
        for b, paragraph in enumerate(paragraphs):
            for m, ids in enumerate(paragraph):
                word_ids[b, m, : len(ids)] = ids
                word_mask[b, m, : len(ids)] = True
        if mask_seed is None:
            mask_seed = zlib.crc32(json.dumps([list(p) for p in text]).encode()) ^ self.seed
        maskable = word_mask & ~np.isin(word_ids, self._unmaskable_ids())
        masked_positions = self._mask_words(maskable, mask_seed)
        return {
            "word_ids": word_ids,
            "word_mask": word_mask,
            "masked_word_ids": np.where(masked_positions, special_ids["mask_token_id"], word_ids),
            "masked_positions": masked_positions,
            "sentence_mask": word_mask.any(-1),
        }

    # Video ----------------------------------------------------------------------------------------------------

    def _video_inputs(self, video_features, durations, video_ids) -> dict[str, np.ndarray]:
        clips, checked_durations = [], []
        for index, (features, duration) in enumerate(zip(video_features, durations, strict=True)):
            name = f"video {video_ids[index]!r}" if video_ids is not None else f"video {index}"
            array = check_video_features(features, self.feature_dim, name)
            checked_durations.append(check_positive_seconds(duration, name))
            clips.append(extract_clip_features(array, self.num_sampled_frames, self.num_clips))
        return {
            "clip_features": np.stack(clips),
            "map_mask": self.map_mask,
            "durations": np.asarray(checked_durations, dtype=np.float32),
        }

    def _timestamp_inputs(self, timestamps, text, durations, video_ids) -> np.ndarray:
        num_sentences = max(len(paragraph) for paragraph in text)
        output = np.zeros((len(text), num_sentences, 2), dtype=np.float32)
        for b, (moments, paragraph, duration) in enumerate(zip(timestamps, text, durations, strict=True)):
            name = f"video {video_ids[b]!r}" if video_ids is not None else f"paragraph {b}"
            if len(moments) != len(paragraph):
                raise InputError(f"{name}: {len(paragraph)} sentences but {len(moments)} timestamps")
            array = np.asarray(moments, dtype=np.float64).reshape(-1, 2)
            invalid = (array[:, 0] > array[:, 1]) | (array[:, 0] < 0) | (array[:, 1] > duration)
            bad = np.flatnonzero(invalid | ~np.isfinite(array).all(axis=1))
            if len(bad):
                raise InputError(
                    f"{name}, sentence {int(bad[0])}: timestamp {array[bad[0]].tolist()} is not inside "
                    f"[0, {duration}] with start <= end"
                )
            output[b, : len(array)] = array
        return output

    # Call -----------------------------------------------------------------------------------------------------

    def __call__(
        self,
        text: Sequence[Sequence[str]] | None = None,
        video_features: Sequence[np.ndarray] | None = None,
        durations: Sequence[float] | None = None,
        timestamps: Sequence[Sequence[Sequence[float]]] | None = None,
        video_ids: Sequence[str] | None = None,
        mask_seed: int | None = None,
        return_tensors: str | None = "pt",
        **unused: Any,
    ) -> BatchFeature:
        """Prepare a batch of B paragraphs and/or B videos.

        Args:
            text (list[list[str]]): B paragraphs, each a list of sentences (any number; padded to the longest).
            video_features (list[np.ndarray]): B arrays of shape (num_frames, feature_dim).
            durations (list[float]): B video durations in seconds.
            timestamps (list[list[[float, float]]], optional): per sentence ``[start, end]`` seconds (evaluation and
                full/semi supervision only).
            video_ids (list[str], optional): used in error messages.
            mask_seed (int, optional): seed of the word masking; by default derived from the text and the processor's
                seed, so the same batch is always masked the same way.

        Returns:
            BatchFeature with word_ids, word_mask, masked_word_ids, masked_positions (B, M, J), sentence_mask (B, M),
            clip_features (B, K, D), map_mask (K, K), durations (B,) and, when given, timestamps (B, M, 2).

        Raises:
            InputError: naming the paragraph, sentence or video at fault.
        """
        if unused:
            raise InputError(f"unexpected argument(s): {sorted(unused)}")
        if text is None and video_features is None:
            raise InputError("give text, video_features, or both")
        data: dict[str, np.ndarray] = {}
        if text is not None:
            if len(text) == 0:
                raise InputError("text is an empty batch")
            data.update(self._text_inputs(text, mask_seed))
        if video_features is not None:
            if durations is None:
                raise InputError("video_features need durations (seconds)")
            if len(durations) != len(video_features):
                raise InputError(f"{len(video_features)} videos but {len(durations)} durations")
            data.update(self._video_inputs(video_features, durations, video_ids))
        if timestamps is not None:
            if text is None or durations is None:
                raise InputError("timestamps need text and durations")
            data["timestamps"] = self._timestamp_inputs(timestamps, text, durations, video_ids)
        return BatchFeature(data=data, tensor_type=return_tensors)

    # Post-processing ------------------------------------------------------------------------------------------

    def post_process_grounding(
        self,
        score_maps: torch.Tensor | np.ndarray,
        durations: torch.Tensor | np.ndarray | Sequence[float],
        sentence_mask: torch.Tensor | np.ndarray | None = None,
        top_k: int = 5,
        nms_threshold: float | None = None,
    ) -> list[list[list[Moment]]]:
        """Turn score maps into the top-k moments (seconds) of every real sentence, after NMS.

        Args:
            score_maps (tensor of shape (batch, num_sentences, num_clips, num_clips)): P_m.
            durations (tensor of shape (batch,)): seconds.
            sentence_mask (tensor of shape (batch, num_sentences), optional): padded sentences are left out.
            top_k (int): moments kept per sentence.
            nms_threshold (float, optional): defaults to the processor's.

        Returns:
            ``moments[b][m]``: list of `Moment` (best first, ranks from 1) of sentence ``m`` of paragraph ``b``.

        Raises:
            InputError: ``top_k`` is not a positive int, or ``nms_threshold`` is not in (0, 1].
        """
        scores = torch.as_tensor(score_maps).detach().float().cpu().numpy()
        durations = np.asarray(torch.as_tensor(durations).detach().cpu().numpy(), dtype=np.float64)
        batch, num_sentences = scores.shape[:2]
        keep = np.ones((batch, num_sentences), bool) if sentence_mask is None else np.asarray(sentence_mask, bool)
        top_k = check_positive_int(top_k, "top_k (moments per sentence)")
        threshold = check_unit_interval(
            self.nms_threshold if nms_threshold is None else nms_threshold, "nms_threshold"
        )
        rows, cols = np.nonzero(self.map_mask)
        cell_scores = scores[:, :, rows, cols]  # (B, M, num_valid_cells)
        seconds = cells_to_seconds(rows[None], cols[None], durations[:, None], self.num_clips)  # (B, cells, 2)
        results = []
        for b in range(batch):
            paragraph = []
            for m in np.flatnonzero(keep[b]):
                kept = nms_1d(seconds[b], cell_scores[b, m], threshold, top_k)
                paragraph.append(
                    [
                        Moment(float(seconds[b, i, 0]), float(seconds[b, i, 1]), float(cell_scores[b, m, i]), rank)
                        for rank, i in enumerate(kept, start=1)
                    ]
                )
            results.append(paragraph)
        return results

    # Serialisation --------------------------------------------------------------------------------------------

    def with_settings(self, **changes: Any) -> DMRJRGProcessor:
        """A copy with some settings changed (e.g. ``long_video_window_seconds``), validated as at construction; the
        vocabulary (or the transformer's tokenizer) is shared."""
        settings = {key: value for key, value in self.to_dict().items() if key != "processor_class"}
        uses_subwords = settings.pop("uses_subword_vocabulary")
        tokens = {"subword_vocabulary": self.subword_vocabulary} if uses_subwords else {"vocabulary": self.vocabulary}
        return type(self)(**tokens, **{**settings, **changes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "processor_class": type(self).__name__,
            "num_clips": self.num_clips,
            "map_scale_layers": self.map_scale_layers,
            "num_sampled_frames": self.num_sampled_frames,
            "word_mask_ratio": self.word_mask_ratio,
            "feature_dim": self.feature_dim,
            "video_feature_spec": self.video_feature_spec,
            "nms_threshold": self.nms_threshold,
            "seed": self.seed,
            "long_video_window_seconds": self.long_video_window_seconds,
            "long_video_overlap": self.long_video_overlap,
            "long_video_threshold_seconds": self.long_video_threshold_seconds,
            "long_video_relevance_temperature": self.long_video_relevance_temperature,
            "uses_subword_vocabulary": self.subword_vocabulary is not None,
        }

    def save_pretrained(self, save_directory: str | Path, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Write ``processor_config.json`` and ``vocab.json`` + ``word_vectors.safetensors`` (no pickle), or, with a
        transformer's tokenizer, that tokenizer's files (`save_pretrained` of the tokenizer)."""
        directory = Path(save_directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / PROCESSOR_CONFIG_FILE).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        files = [str(directory / PROCESSOR_CONFIG_FILE)]
        if self.vocabulary is not None:
            self.vocabulary.save(directory)
            files += [str(directory / name) for name in (VOCABULARY_FILE, WORD_VECTORS_FILE)]
        else:
            files += [str(path) for path in self.subword_vocabulary.save_pretrained(str(directory))]
        if push_to_hub:
            from huggingface_hub import HfApi

            repo_id = kwargs.pop("repo_id", directory.name)
            api = HfApi()
            repo_id = api.create_repo(repo_id, exist_ok=True, token=kwargs.get("token")).repo_id
            api.upload_folder(repo_id=repo_id, folder_path=str(directory), token=kwargs.get("token"))
        return files

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs) -> DMRJRGProcessor:
        """Load a processor saved with `save_pretrained` from a folder or a Hub repository."""
        hub_kwargs = {
            key: kwargs.pop(key)
            for key in ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")
            if key in kwargs
        }
        config_path = cached_file(str(pretrained_model_name_or_path), PROCESSOR_CONFIG_FILE, **hub_kwargs)
        settings = json.loads(Path(config_path).read_text(encoding="utf-8"))
        settings.pop("processor_class", None)
        settings.pop("auto_map", None)
        for loader_argument in ("trust_remote_code", "_from_auto", "code_revision"):  # passed by AutoProcessor
            kwargs.pop(loader_argument, None)
        settings.update(kwargs)
        if settings.pop("uses_subword_vocabulary", False):
            return cls(
                subword_vocabulary=AutoTokenizer.from_pretrained(str(pretrained_model_name_or_path), **hub_kwargs),
                **settings,
            )
        paths = {
            name: cached_file(str(pretrained_model_name_or_path), name, **hub_kwargs)
            for name in (VOCABULARY_FILE, WORD_VECTORS_FILE)
        }
        vocabulary = WordVocabulary.load(paths[VOCABULARY_FILE], paths[WORD_VECTORS_FILE])
        return cls(vocabulary, **settings)
