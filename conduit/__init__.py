"""Conduit: an AI-first web framework whose hot paths are Numba kernels."""
