"""Embedders: text -> vectors. TF-IDF over the kernels, and a user-supplied ONNX model.

Both follow one small protocol, which :class:`~conduit.vector.rag.RAGPipeline` uses::

    embedder.dim                      int, the vector dimension
    embedder.embed(texts) -> float32[n, dim]

:class:`TfidfEmbedder` also mirrors scikit-learn's ``TfidfVectorizer`` API (``fit``,
``transform``, ``fit_transform`` returning ``scipy.sparse.csr_matrix``,
``get_feature_names_out``, ``vocabulary_``, ``idf_``) with equal output.
scipy and onnxruntime are imported only when these classes are used.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Callable, Sequence

import numpy as np

from conduit_kernels.tfidf import encode_documents, tfidf_fit, tfidf_transform

from .errors import VectorInputError

__all__ = ["HashingTokenizer", "OnnxEmbedder", "TfidfEmbedder"]


def _texts(texts: Any) -> list[str]:
    if isinstance(texts, (str, bytes)) or not isinstance(texts, (list, tuple)):
        raise VectorInputError("texts", "texts must be a list of strings")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise VectorInputError("texts", f"texts[{i}] is {type(t).__name__}, expected str")
    return list(texts)


def _stop_words(value: Any) -> "list[str] | None":
    """scikit-learn's ``stop_words``: None, ``"english"`` (its list), or a collection of words."""
    if value is None:
        return None
    if value == "english":
        from ._stop_words import ENGLISH_STOP_WORDS

        return sorted(ENGLISH_STOP_WORDS)
    if isinstance(value, str):
        raise VectorInputError("stop_words", f"stop_words must be 'english', a list of words or None, "
                                             f"got {value!r}")
    words = list(value)
    if not all(isinstance(w, str) for w in words):
        raise VectorInputError("stop_words", "every stop word must be a string")
    return words


class TfidfEmbedder:
    """TF-IDF vectors computed by :mod:`conduit_kernels.tfidf`; equal to
    ``sklearn.feature_extraction.text.TfidfVectorizer`` with the same options
    (``ngram_range``, ``stop_words``, ``min_df``/``max_df``, ``max_features``,
    ``norm``, ``use_idf``, ``smooth_idf``, ``sublinear_tf``, ``lowercase``)."""

    def __init__(self, *, lowercase: bool = True, ngram_range: tuple[int, int] = (1, 1),
                 stop_words: "str | Sequence[str] | None" = None, min_df: "int | float" = 1,
                 max_df: "int | float" = 1.0, max_features: "int | None" = None,
                 norm: "str | None" = "l2", use_idf: bool = True, smooth_idf: bool = True,
                 sublinear_tf: bool = False):
        self.lowercase = lowercase
        self.options = dict(min_df=min_df, max_df=max_df, max_features=max_features, norm=norm,
                            use_idf=use_idf, smooth_idf=smooth_idf, sublinear_tf=sublinear_tf,
                            ngram_range=tuple(ngram_range) if isinstance(ngram_range, list) else ngram_range,
                            stop_words=_stop_words(stop_words))
        self._model = None

    def _encode(self, texts):
        return encode_documents(_texts(texts), lowercase=self.lowercase)

    @staticmethod
    def _csr(parts):
        from scipy.sparse import csr_matrix

        data, indices, indptr, shape = parts
        return csr_matrix((data, indices, indptr), shape=shape)

    def fit_transform(self, texts: Sequence[str]):
        """Learn the vocabulary and idf; return the documents' ``csr_matrix`` (float64)."""
        try:
            self._model, parts = tfidf_fit(*self._encode(texts), **self.options)
        except VectorInputError:
            raise
        except ValueError as exc:
            raise VectorInputError("texts", str(exc)) from None
        return self._csr(parts)

    def fit(self, texts: Sequence[str]) -> "TfidfEmbedder":
        self.fit_transform(texts)
        return self

    def _fitted(self):
        if self._model is None:
            raise VectorInputError("embedder", "TfidfEmbedder is not fitted; call fit() first")
        return self._model

    def transform(self, texts: Sequence[str]):
        """TF-IDF rows of new documents (terms outside the vocabulary are dropped)."""
        model = self._fitted()
        return self._csr(tfidf_transform(model, *self._encode(texts)))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self._fitted().terms, dtype=object)

    @property
    def vocabulary_(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self._fitted().terms)}

    @property
    def idf_(self) -> np.ndarray:
        return self._fitted().idf.copy()

    @property
    def dim(self) -> int:
        return len(self._fitted().terms)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Dense float32 TF-IDF rows (for a :class:`VectorStore` of ``dim`` columns)."""
        model = self._fitted()
        data, indices, indptr, (n, v) = tfidf_transform(model, *self._encode(texts))
        out = np.zeros((n, v), dtype=np.float32)
        rows = np.repeat(np.arange(n), np.diff(indptr))
        out[rows, indices] = data
        return out


class HashingTokenizer:
    """A dependency-free tokenizer for models trained on hashed word ids.

    Words are the lowercase ``\\w+`` runs; id = ``1 + crc32(word) % (vocab_size - 1)``
    (0 pads). Returns ``input_ids`` and ``attention_mask`` as int64 ``[n, length]``.
    Pass your model's own tokenizer to :class:`OnnxEmbedder` for real models.
    """

    _WORD = re.compile(r"\w+")

    def __init__(self, vocab_size: int, max_length: int = 128):
        if vocab_size < 2:
            raise ValueError("vocab_size must be >= 2")
        self.vocab_size = vocab_size
        self.max_length = max_length

    def __call__(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        seqs = [[1 + zlib.crc32(w.encode()) % (self.vocab_size - 1)
                 for w in self._WORD.findall(t.lower())][: self.max_length] for t in texts]
        length = max(1, max((len(s) for s in seqs), default=1))
        ids = np.zeros((len(seqs), length), dtype=np.int64)
        mask = np.zeros((len(seqs), length), dtype=np.int64)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = s
            mask[i, : len(s)] = 1
        return {"input_ids": ids, "attention_mask": mask}


class OnnxEmbedder:
    """Sentence embeddings from a user-supplied ONNX model (onnxruntime, CPU by default).

    Parameters
    ----------
    model : path or bytes of an ``.onnx`` file
    tokenizer : callable ``texts -> {input name: int64 array}``; default
        :class:`HashingTokenizer` (needs ``vocab_size``)
    pooling : "mean" (masked mean over tokens of a ``[n, seq, hidden]`` output),
        "cls" (first token) or "none" (the model already outputs ``[n, hidden]``)
    normalize : L2-normalise the embeddings
    output_name : which model output to use (default: the first)
    """

    def __init__(self, model: "str | bytes", *, tokenizer: "Callable | None" = None,
                 vocab_size: "int | None" = None, max_length: int = 128, pooling: str = "mean",
                 normalize: bool = True, output_name: "str | None" = None,
                 providers: "Sequence[str] | None" = None, batch_size: int = 64):
        import onnxruntime as ort

        if pooling not in ("mean", "cls", "none"):
            raise ValueError(f"pooling must be 'mean', 'cls' or 'none', got {pooling!r}")
        if tokenizer is None:
            if vocab_size is None:
                raise ValueError("pass a tokenizer, or vocab_size for the built-in HashingTokenizer")
            tokenizer = HashingTokenizer(vocab_size, max_length)
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.normalize = normalize
        self.batch_size = batch_size
        try:
            self.session = ort.InferenceSession(
                model, providers=list(providers or ["CPUExecutionProvider"]))
        except Exception as exc:  # onnxruntime raises its own types for bad files
            raise ValueError(f"cannot load ONNX model {model if isinstance(model, str) else '<bytes>'}: "
                             f"{exc}") from None
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = output_name or self.session.get_outputs()[0].name
        self.dim = int(self._run(["warm up"]).shape[1])

    def _run(self, texts: list[str]) -> np.ndarray:
        feeds_all = self.tokenizer(texts)
        mask = feeds_all.get("attention_mask")
        feeds = {}
        for name in self.input_names:
            if name in feeds_all:
                feeds[name] = feeds_all[name]
            elif name == "token_type_ids":
                feeds[name] = np.zeros_like(feeds_all["input_ids"])
            else:
                raise ValueError(f"the tokenizer gives no {name!r} input for the model")
        out = np.asarray(self.session.run([self.output_name], feeds)[0], dtype=np.float32)
        if out.ndim == 3:
            if self.pooling == "cls":
                out = out[:, 0]
            else:
                m = (mask if mask is not None else np.ones(out.shape[:2]))[..., None].astype(np.float32)
                out = (out * m).sum(1) / np.maximum(m.sum(1), 1.0)
        if out.ndim != 2:
            raise ValueError(f"model output {self.output_name!r} has shape {out.shape}; "
                             "expected [n, hidden] or [n, seq, hidden]")
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = out / np.where(norms > 0, norms, 1)
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = _texts(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.concatenate([self._run(texts[i:i + self.batch_size])
                               for i in range(0, len(texts), self.batch_size)])
