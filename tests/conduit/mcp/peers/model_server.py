"""A served model as an MCP tool, over stdio: ``python model_server.py``.

A LogisticRegression fitted on seeded data (the tests refit it the same way to compare).
"""

import numpy as np
from sklearn.linear_model import LogisticRegression

from conduit.mcp import MCPServer
from conduit.ml.serve.registry import ModelRegistry


def fitted():
    X = np.random.default_rng(7).normal(size=(120, 4))
    return LogisticRegression().fit(X, (X[:, 0] + X[:, 1] > 0).astype(int)), X


if __name__ == "__main__":
    registry = ModelRegistry()
    registry.register("clf", fitted()[0])
    mcp = MCPServer("models")
    mcp.add_model_tool(registry, "clf")
    mcp.run_stdio()
