"""Conduit apps as Ray Serve deployments, and models as deployments reached through handles.

Owns :func:`deployment` -- a Conduit app (built in each replica by a factory, or imported from
``"module:attribute"``) served by Ray Serve through the app's ASGI face (``serve.ingress``), so
every request goes through the app's own lifecycle (limits, auth, errors), and the app's
warm-up runs in each replica at ASGI lifespan start-up, before it takes traffic -- and
:func:`model_deployment`, a compiled model as a Ray Serve deployment that another deployment
calls through a ``DeploymentHandle`` (``await handle.predict.remote(rows)``): models placed
on other machines or GPUs, the Conduit app as their ingress.

Ray is imported only when one of these is called (``pip install 'conduit[ray]'``). Ray Serve
owns replicas, autoscaling and placement; Conduit owns the request.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

__all__ = ["deployment", "model_deployment"]


def _load_app(target: str | Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        if not module or not attribute:
            raise ValueError(f"app must be 'module:attribute' or a factory, got {target!r}")
        app = getattr(importlib.import_module(module), attribute)
        return app(*args, **kwargs) if callable(app) and not hasattr(app, "add_route") else app
    return target(*args, **kwargs)


def deployment(app: str | Callable[..., Any], *, name: str = "conduit", **options: Any) -> Any:
    """A Ray Serve deployment whose replicas serve a Conduit app over its ASGI face.

    ``app``: ``"module:attribute"`` (an app, or a factory returning one) or a factory
    callable; the factory gets the arguments given to ``.bind(...)`` -- for example the
    ``DeploymentHandle`` of a :func:`model_deployment` -- and runs in each replica.
    ``options`` are ``serve.deployment``'s (``num_replicas``, ``autoscaling_config``,
    ``ray_actor_options``, ``max_ongoing_requests``, ...). Returns the deployment: call
    ``.bind(...)`` and ``serve.run`` it::

        ingress = conduit.ray.deployment(build_app, num_replicas=2)
        serve.run(ingress.bind(model.bind()), route_prefix="/")
    """
    if hasattr(app, "add_route") or not (isinstance(app, str) or callable(app)):
        raise TypeError(f"app must be 'module:attribute' or a factory, got {type(app).__name__}: "
                        f"a built app cannot be sent to the replicas (each replica builds its own)")
    if isinstance(app, str) and not all(app.partition(":")[::2]):
        raise ValueError(f"app must be 'module:attribute' or a factory, got {app!r}")
    from ray import serve

    class ConduitIngress:
        """One replica: the Conduit app, built here (after the handles it is given arrive)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._app = _load_app(app, args, kwargs)

        def __serve_build_asgi_app__(self) -> Any:  # Ray Serve's hook for an app built per replica
            return self._app

    ConduitIngress.__name__ = ConduitIngress.__qualname__ = name.replace("-", "_")
    return serve.deployment(name=name, **options)(serve.ingress()(ConduitIngress))


def model_deployment(model: Any, *, name: str = "model", **options: Any) -> Any:
    """A Ray Serve deployment serving one model (an estimator, a model file path, a
    ``CompiledModel``), compiled in each replica; call it through its handle::

        predictions = await handle.predict.remote([[5.1, 3.5, 1.4, 0.2]])

    ``predict(rows)`` validates the rows as ``app.predict`` does (raising
    :class:`~conduit.ml.InvalidInput` back to the caller) and returns a list.
    """
    from ray import serve

    class ModelReplica:
        def __init__(self) -> None:
            from conduit.ml.serve.registry import ModelRegistry

            registry = ModelRegistry()
            self.model = registry.register(name, model).model  # loaded, compiled, warmed

        async def predict(self, rows: Any) -> list:
            return self.model.predict(rows).tolist()

        async def predict_proba(self, rows: Any) -> list:
            return self.model.predict_proba(rows).tolist()

        def describe(self) -> dict:
            return self.model.describe()

    ModelReplica.__name__ = ModelReplica.__qualname__ = name.replace("-", "_")
    return serve.deployment(name=name, **options)(ModelReplica)
