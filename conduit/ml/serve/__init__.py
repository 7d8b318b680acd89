"""Serving compiled models: routes, batching, registries, loading, streaming and fallback."""
