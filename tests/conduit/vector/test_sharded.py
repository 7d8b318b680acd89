"""ShardedVectorStore on a local Ray cluster bound to 127.0.0.1: equal to one unsharded store.

The cluster is started by this module (two CPUs, no dashboard, usage stats off) and
every socket of every Ray process it starts is checked to be on the loopback address.
Ray resolves ``_node_ip_address="127.0.0.1"`` to the machine's external address
unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set before Ray is imported (its
"local machine only" mode), so the fixture sets it first.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conduit.vector import HnswConfig, ShardedVectorStore, VectorInputError, VectorStore

pytestmark = pytest.mark.slow

N, DIM = 600, 12


@pytest.fixture(scope="module")
def ray_cluster():
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # read when ray is imported
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # no report to the internet
    import ray
    from ray._private import ray_constants

    if ray_constants.ENABLE_RAY_CLUSTER:
        pytest.fail("ray was imported before the loopback setting: run this module on its own")
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # Ray's socket paths must stay short
    try:
        for attempt in range(3):
            try:
                ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
                         _temp_dir=temp, log_to_driver=False)
                break
            except Exception as exc:  # Ray gives its raylet a fixed 30 s to register
                ray.shutdown()
                if attempt == 2 or "timed out during startup" not in str(exc):
                    raise
        yield ray
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _descendants(root: int) -> set[int]:
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
    found, frontier = set(), {root}
    while frontier:
        found |= frontier
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
    return found - {root}


def _socket_inodes(pids: set[int]) -> set[str]:
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    return inodes


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(hex_addr, 16)))
    words = struct.unpack("<4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))


def _is_local(addr: str) -> bool:
    return addr in ("127.0.0.1", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::")


def ray_sockets() -> list[tuple[str, str, str]]:
    """``(table, local address, remote address)`` for every inet socket of Ray's processes."""
    inodes = _socket_inodes(_descendants(os.getpid()) | {os.getpid()})
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                found.append((table, _address(cols[1].split(":")[0]),
                              _address(cols[2].split(":")[0])))
    return found


def test_every_ray_socket_is_on_loopback(ray_cluster):
    store = ShardedVectorStore(DIM, shards=2)  # start the actors, so their sockets exist
    store.add(["a"], np.ones((1, DIM)))
    sockets = ray_sockets()
    assert sockets, "found no Ray sockets to check"
    listening = [s for s in sockets if s[2] in ("0.0.0.0", "::")]
    assert listening, "found no Ray listeners to check"
    for table, local, remote in sockets:
        assert local in ("127.0.0.1", "::1", "::ffff:127.0.0.1"), (table, local)
        assert _is_local(remote), (table, remote)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1414)
    return (rng.standard_normal((N, DIM)).astype(np.float32),
            rng.standard_normal((8, DIM)).astype(np.float32))


def _pair(data, shards, **kwargs):
    x, _ = data
    ids = [f"d{i}" if i % 3 else i for i in range(N)]  # strings and ints, as stores allow
    meta = [{"group": i % 7, "n": i} for i in range(N)]
    one = VectorStore(DIM, kwargs.get("metric", "cosine"), device="cpu")
    one.add(ids, x, meta)
    many = ShardedVectorStore(DIM, shards=shards, **kwargs)
    many.add(ids, x, meta)
    return one, many


def _same(a, b):
    assert [[h.id for h in hits] for hits in a] == [[h.id for h in hits] for hits in b]
    assert [[h.metadata for h in hits] for hits in a] == [[h.metadata for h in hits] for hits in b]
    np.testing.assert_allclose([[h.score for h in hits] for hits in a],
                               [[h.score for h in hits] for hits in b], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_sharded_equals_unsharded(ray_cluster, data, metric):
    _, q = data
    one, many = _pair(data, 3, metric=metric)
    assert len(many) == N and many.shards == 3
    _same(one.search_batch(q, k=10), many.search_batch(q, k=10))
    _same([one.search(q[0], k=N)], [many.search(q[0], k=N)])
    for spec in ({"group": 2}, {"n": {"$lt": 50}}, {"$or": [{"group": 1}, {"n": {"$gte": 590}}]}):
        _same(one.search_batch(q, k=10, filter=spec), many.search_batch(q, k=10, filter=spec))
    assert many.search(q[0], k=5, filter={"group": 99}) == []


def test_writes_route_by_id(ray_cluster, data):
    x, q = data
    one, many = _pair(data, 2)
    doomed = [f"d{i}" for i in range(1, 200, 3)] + [0, 3, "missing"]
    assert one.delete(doomed) == many.delete(doomed) == len(doomed) - 1
    new = np.random.default_rng(5).standard_normal((2, DIM)).astype(np.float32)
    for store in (one, many):
        store.upsert(["d1", "brand-new"], new, [{"group": 50}, {"group": 51}])
    assert len(many) == len(one)
    _same(one.search_batch(q, k=10), many.search_batch(q, k=10))
    vector, meta = many.get("d1")
    np.testing.assert_array_equal(vector, new[0])
    assert meta == {"group": 50} and "brand-new" in many and many.get("d5") is not None
    assert many.get(0) is None and "missing" not in many


def test_hnsw_shards(ray_cluster, data):
    _, q = data
    one, many = _pair(data, 2, index=HnswConfig(M=8, ef_construction=60, ef=40))
    assert many.index == "hnsw"
    want = one.search_batch(q, k=10)
    got = many.search_batch(q, k=10)
    overlap = np.mean([len({h.id for h in a} & {h.id for h in b}) / 10 for a, b in zip(want, got)])
    assert overlap >= 0.95


def test_save_and_load_per_shard(ray_cluster, data, tmp_path):
    _, q = data
    one, many = _pair(data, 2, index="hnsw")
    many.save(tmp_path / "s")
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["shard-0", "shard-1",
                                                                   "sharded.json"]
    back = ShardedVectorStore.load(tmp_path / "s")
    assert back.shards == 2 and back.index == "hnsw" and len(back) == N
    _same(many.search_batch(q, k=10), back.search_batch(q, k=10))
    one_copy = VectorStore.load(tmp_path / "s" / "shard-0")  # each shard is an ordinary store
    assert 0 < len(one_copy) < N


def test_bad_input(ray_cluster, data, tmp_path):
    _, many = _pair(data, 2)
    x, q = data
    cases = [
        (lambda: many.add(["d1"], x[:1]), "ids", "already stored"),
        (lambda: many.add(["new1", "new2"], x[:1]), "ids", "2 ids for 1 vectors"),
        (lambda: many.add(["new1"], x[:1, :3]), "vectors", "dimension"),
        (lambda: many.search(q[0], k=0), "k", "positive"),
        (lambda: many.search(q[0][:4]), "query", "dimension"),
        (lambda: many.search(q[0], filter={"group": {"$near": 1}}), "filter", "unknown operator"),
        (lambda: ShardedVectorStore(DIM, shards=0), "shards", "positive"),
        (lambda: ShardedVectorStore(DIM, metric="hamming"), "metric", "unknown metric"),
        (lambda: ShardedVectorStore.load(tmp_path / "nothing"), "path", "no sharded store"),
    ]
    for call, field, message in cases:
        with pytest.raises(VectorInputError, match=message) as info:
            call()
        assert info.value.field == field
    assert len(many.search(q[0], k=N + 1)) == N  # k beyond the store: the hits there are
    assert len(many) == N  # nothing changed
