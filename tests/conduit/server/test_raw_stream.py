"""RawSocketStream behaves as trio's SocketStream does, on a real socket pair."""

from __future__ import annotations

import socket

import pytest
import trio

from conduit.server.raw_stream import RawSocketStream


def pair() -> tuple[RawSocketStream, trio.SocketStream]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(ours))
    return RawSocketStream(stream, ours), trio.SocketStream(trio.socket.from_stdlib_socket(theirs))


def run(fn) -> None:
    trio.run(fn)


async def tick(ticks: list[int]) -> None:
    """Counts how often this task gets to run (fairness checks)."""
    while True:
        ticks.append(1)
        await trio.sleep(0)


def test_bytes_go_both_ways_and_end_of_stream_is_empty():
    async def main():
        raw, peer = pair()
        await raw.send_all(b"ping")
        assert await peer.receive_some(100) == b"ping"
        await peer.send_all(b"pong")
        assert await raw.receive_some(100) == b"pong"
        await peer.aclose()
        assert await raw.receive_some(100) == b""
        await raw.aclose()
    run(main)


def test_a_large_send_waits_for_the_reader_and_arrives_whole():
    payload = bytes(range(256)) * 40_000  # ~10 MB: far past the socket buffers

    async def main():
        raw, peer = pair()
        received = bytearray()

        async def read_all():
            while len(received) < len(payload):
                received.extend(await peer.receive_some(1 << 16))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_all)
            await raw.send_all(payload)
        assert bytes(received) == payload
    run(main)


def test_reads_that_never_block_still_let_other_tasks_run():
    async def main():
        raw, peer = pair()
        ticks: list[int] = []
        await peer.send_all(b"x" * 100_000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick, ticks)
            for _ in range(40):  # each read returns at once: the buffer holds data
                await raw.receive_some(10)
            nursery.cancel_scope.cancel()
        assert len(ticks) >= 5
    run(main)


def test_a_closed_stream_refuses_and_a_reset_peer_is_broken():
    async def main():
        raw, peer = pair()
        await raw.aclose()
        with pytest.raises(trio.ClosedResourceError):
            await raw.send_all(b"x")
        with pytest.raises(trio.ClosedResourceError):
            await raw.receive_some(10)

        raw, peer = pair()
        await peer.aclose()
        with pytest.raises(trio.BrokenResourceError):
            for _ in range(100):  # the first send may still be accepted by the kernel
                await raw.send_all(b"x" * 65536)
    run(main)


def test_a_read_that_drained_the_buffer_waits_for_the_next_bytes():
    async def main():
        raw, peer = pair()
        await peer.send_all(b"first")
        assert await raw.receive_some(100) == b"first"  # less than asked: drained
        async with trio.open_nursery() as nursery:
            got = []

            async def read():
                got.append(await raw.receive_some(100))

            nursery.start_soon(read)
            await trio.sleep(0.05)
            assert got == []  # waiting, not spinning on EAGAIN
            await peer.send_all(b"second")
        assert got == [b"second"]
    run(main)


def test_sends_that_never_block_still_let_other_tasks_run_and_can_be_cancelled():
    async def main():
        raw, peer = pair()
        ticks: list[int] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(tick, ticks)
            for _ in range(40):  # small sends: the socket buffer takes each at once
                await raw.send_all(b"x")
            nursery.cancel_scope.cancel()
        assert len(ticks) >= 5
        with trio.CancelScope() as scope:
            scope.cancel()
            await raw.send_all(b"never")  # cancelled at its checkpoint, before sending
        assert scope.cancelled_caught
        await raw.aclose()
        assert await peer.receive_some(1000) == b"x" * 40
    run(main)
