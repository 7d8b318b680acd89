"""conduit.vector: an in-memory vector store, embedders and RAG over the Numba kernels.

Layering: a client of ``conduit_kernels`` (distances, topk, tfidf, cuda); knows
nothing of HTTP. Bad input raises :class:`VectorInputError` (a ``ValueError``
naming the field, ``status_code = 422``) before any state changes.
scipy (TF-IDF matrices), onnxruntime (OnnxEmbedder) and ray (ShardedVectorStore)
load only when used.
"""

from .embedders import HashingTokenizer, OnnxEmbedder, TfidfEmbedder
from .errors import VectorInputError
from .hnsw import HnswConfig
from .rag import RAGAnswer, RAGPipeline, Source, extractive_generator
from .sharded import ShardedVectorStore
from .store import Hit, VectorStore

__all__ = [
    "HashingTokenizer",
    "HnswConfig",
    "Hit",
    "OnnxEmbedder",
    "RAGAnswer",
    "RAGPipeline",
    "ShardedVectorStore",
    "Source",
    "TfidfEmbedder",
    "VectorInputError",
    "VectorStore",
    "extractive_generator",
]
