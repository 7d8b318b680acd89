"""conduit.vector: an in-memory vector store, embedders, lexical search and RAG over the Numba kernels.

Layering: a client of ``conduit_kernels`` (distances, topk, tfidf, bm25, cuda);
knows nothing of HTTP. Bad input raises :class:`VectorInputError` (a ``ValueError``
naming the field, ``status_code = 422``) before any state changes.
scipy (TF-IDF matrices), onnxruntime (OnnxEmbedder), httpx (OpenAIChatGenerator) and
ray (ShardedVectorStore)
load only when used.
"""

from .chunking import Chunk, Chunker, chunk_text
from .embedders import HashingTokenizer, OnnxEmbedder, TfidfEmbedder
from .errors import CorruptStoreError, VectorInputError
from .fusion import reciprocal_rank_fusion, weighted_fusion
from .lexical import BM25Index
from .hnsw import HnswConfig
from .llm import ChatCompletionError, OpenAIChatGenerator
from .rag import NO_ANSWER, RAGAnswer, RAGPipeline, Retrieval, Source, extractive_generator
from .sharded import ShardedVectorStore
from .store import Hit, VectorStore

__all__ = [
    "BM25Index",
    "ChatCompletionError",
    "Chunk",
    "Chunker",
    "CorruptStoreError",
    "HashingTokenizer",
    "HnswConfig",
    "Hit",
    "NO_ANSWER",
    "OnnxEmbedder",
    "OpenAIChatGenerator",
    "RAGAnswer",
    "RAGPipeline",
    "Retrieval",
    "ShardedVectorStore",
    "Source",
    "TfidfEmbedder",
    "VectorInputError",
    "VectorStore",
    "chunk_text",
    "extractive_generator",
    "reciprocal_rank_fusion",
    "weighted_fusion",
]
