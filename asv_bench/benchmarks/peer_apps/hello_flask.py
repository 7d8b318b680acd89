"""The same endpoints in Flask, served by gunicorn with sync workers (the classic WSGI deployment).

Every Flask view is a plain ``def``: a sync worker runs one request at a time, so ``/`` and
``/sync`` are the same code path here.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, world!", 200, {"content-type": "text/plain; charset=utf-8"}


@app.get("/users/<int:id>")
def user(id: int):
    return jsonify({"id": id, "name": f"user-{id}"})


@app.get("/sync")
def hello_sync():
    return "Hello, world!", 200, {"content-type": "text/plain; charset=utf-8"}


@app.post("/upload")
def upload():
    return jsonify({"size": len(request.get_data())})
