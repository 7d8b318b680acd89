"""A Conduit app with a predict route, served by Ray Serve (2 replicas, autoscaling) and
composed with a model deployment reached through a DeploymentHandle.

    ray start --head --node-ip-address 127.0.0.1 --include-dashboard false
    python examples/ray_serve_app.py        # serves http://127.0.0.1:8000

The model is trained here on the iris data; in production it is a model file each replica
loads (``conduit.ray.model_deployment("models/iris.joblib")``).
"""

from __future__ import annotations

from typing import Any


def iris_model() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=500).fit(X, y)


def build_app(model_handle: Any = None) -> Any:
    """The ingress app: ``POST /predict`` served in this replica (compiled, batched), and,
    when given a model deployment's handle, ``POST /ensemble`` that also asks that model."""
    import trio

    from conduit import Conduit

    app = Conduit()
    app.predict("/predict", iris_model(), name="iris")

    @app.get("/")
    async def health() -> dict:
        return {"status": "ok"}

    if model_handle is not None:

        @app.post("/ensemble")
        async def ensemble(body: dict) -> dict:
            rows = body["rows"]
            local = app.state.models.get("iris").model.predict(rows).tolist()
            # The other deployment, maybe on another machine. Conduit handlers run on trio, Ray's
            # responses are asyncio futures: wait for it in a worker thread (.result() blocks there).
            remote = await trio.to_thread.run_sync(lambda: model_handle.predict.remote(rows).result())
            return {"local": local, "remote": remote, "agree": [a == b for a, b in zip(local, remote)]}

    return app


def application() -> Any:
    """The Ray Serve application: the ingress (2 replicas, autoscaling to 3) over a model deployment."""
    import conduit.ray

    model = conduit.ray.model_deployment(iris_model(), name="iris-model", num_replicas=1,
                                         ray_actor_options={"num_cpus": 0.25})
    ingress = conduit.ray.deployment(build_app, name="conduit-ingress", ray_actor_options={"num_cpus": 0.25},
                                     autoscaling_config={"min_replicas": 2, "initial_replicas": 2,
                                                         "max_replicas": 3, "target_ongoing_requests": 32})
    return ingress.bind(model.bind())


if __name__ == "__main__":
    from ray import serve

    serve.start(http_options={"host": "127.0.0.1", "port": 8000})
    serve.run(application(), route_prefix="/", blocking=True)
