"""OpenAIChatGenerator against a local chat-completions server (a Conduit app on 127.0.0.1):
streaming, one-shot answers, a stream cut in the middle, 429 retries, timeouts, RAG use."""

from __future__ import annotations

import json

import pytest
import trio

from conduit import Conduit, JSONResponse, LiveServer, Request, StreamingResponse
from conduit.vector import ChatCompletionError, OpenAIChatGenerator, RAGPipeline, TfidfEmbedder, VectorStore

WORDS = ["Pelicans ", "eat ", "fish", "."]


def upstream() -> Conduit:
    """Behaviour chosen by the ``model`` field: ok, cut, flaky (one 429), busy (429), bad (400), slow."""
    app = Conduit()
    app.state.calls = {}
    app.state.bodies = []

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        body = await request.json()
        model = body["model"]
        n = app.state.calls[model] = app.state.calls.get(model, 0) + 1
        app.state.bodies.append(body)
        if model == "busy" or (model == "flaky" and n == 1):
            return JSONResponse({"error": {"message": "rate limited"}}, status_code=429,
                                headers={"retry-after": "0"})
        if model == "bad":
            return JSONResponse({"error": {"message": "unknown model"}}, status_code=400)
        if model == "slow":
            await trio.sleep(3)
        if not body.get("stream"):
            return {"choices": [{"message": {"role": "assistant", "content": "".join(WORDS)}}]}

        async def events():
            yield ": a comment line\n\n"
            for i, word in enumerate(WORDS):
                if model == "cut" and i == 2:
                    raise RuntimeError("the upstream died mid-stream")  # the server closes the socket
                yield "data: " + json.dumps({"choices": [{"delta": {"content": word}}]}) + "\n\n"
            if model != "nodone":
                yield "data: [DONE]\n\n"
        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def server():
    app = upstream()
    with LiveServer(app) as live:
        live.app_state = app.state
        yield live


def generator(server, model: str, **options) -> OpenAIChatGenerator:
    return OpenAIChatGenerator(model, base_url=server.url + "/v1", api_key="test-key",
                               base_delay=0.01, max_delay=0.02, **options)


async def collect(chunks) -> list[str]:
    return [c async for c in chunks]


def test_streams_chunks_and_sends_context_and_question(server):
    gen = generator(server, "ok")
    got = trio.run(collect, gen("What do pelicans eat?", "Pelicans eat fish.", []))
    assert got == WORDS
    sent = server.app_state.bodies[-1]
    assert sent["stream"] is True and sent["model"] == "ok"
    assert "Pelicans eat fish." in sent["messages"][-1]["content"]
    assert "What do pelicans eat?" in sent["messages"][-1]["content"]


def test_one_shot_answer(server):
    gen = generator(server, "ok", stream=False, temperature=0.0, max_tokens=20)
    assert trio.run(lambda: gen("q", "c", [])) == "Pelicans eat fish."
    assert server.app_state.bodies[-1]["temperature"] == 0.0


def test_stream_cut_in_the_middle_raises_after_the_chunks_it_got(server):
    got: list[str] = []

    async def run():
        async for chunk in generator(server, "cut")("q", "c", []):
            got.append(chunk)

    with pytest.raises(ChatCompletionError, match="cut after 2 chunks"):
        trio.run(run)
    assert got == WORDS[:2]
    with pytest.raises(ChatCompletionError, match="without \\[DONE\\]"):
        trio.run(collect, generator(server, "nodone")("q", "c", []))


def test_429_is_retried_then_succeeds(server):
    assert trio.run(collect, generator(server, "flaky")("q", "c", [])) == WORDS
    assert server.app_state.calls["flaky"] == 2


def test_persistent_429_gives_up_after_attempts(server):
    with pytest.raises(ChatCompletionError) as info:
        trio.run(collect, generator(server, "busy", attempts=3)("q", "c", []))
    assert info.value.upstream_status == 429 and info.value.status_code == 502
    assert server.app_state.calls["busy"] == 3


def test_400_is_not_retried(server):
    with pytest.raises(ChatCompletionError, match="400"):
        trio.run(collect, generator(server, "bad", attempts=3)("q", "c", []))
    assert server.app_state.calls["bad"] == 1


def test_timeout_per_attempt(server):
    with pytest.raises(ChatCompletionError, match="did not answer within 0.3 s"):
        trio.run(collect, generator(server, "slow", timeout=0.3, attempts=2)("q", "c", []))
    assert server.app_state.calls["slow"] == 2


def test_unreachable_upstream():
    gen = OpenAIChatGenerator("ok", base_url="http://127.0.0.1:9/v1", attempts=2, base_delay=0.01)
    with pytest.raises(ChatCompletionError, match="cannot reach"):
        trio.run(collect, gen("q", "c", []))


def rag_with(gen) -> RAGPipeline:
    docs = ["Pelicans eat fish near the harbour.", "Trio runs the server."]
    emb = TfidfEmbedder().fit(docs)
    rag = RAGPipeline(VectorStore(emb.dim, device="cpu"), emb, gen, k=2)
    rag.add_documents(docs, ids=["pelican", "trio"])
    return rag


def test_as_a_rag_generator(server):
    rag = rag_with(generator(server, "ok"))
    ans = rag.ask("What do pelicans eat?")
    assert ans.answer == "Pelicans eat fish." and [s.id for s in ans.sources] == ["pelican"]

    async def stream():
        return [e async for e in rag.astream("What do pelicans eat?")]

    events = trio.run(stream)
    assert [e["event"] for e in events] == ["sources"] + ["token"] * 4 + ["done"]
    assert events[-1]["data"] == {"answer": "Pelicans eat fish.", "sources": ["pelican"]}


def test_a_cut_stream_becomes_an_error_event(server):
    rag = rag_with(generator(server, "cut"))

    async def stream():
        return [e async for e in rag.astream("What do pelicans eat?")]

    events = trio.run(stream)
    assert [e["event"] for e in events] == ["sources", "token", "token", "error"]
    assert events[-1]["data"]["type"] == "ChatCompletionError"


@pytest.mark.parametrize("options, match", [({"attempts": 0}, "attempts"), ({"model": ""}, "model")])
def test_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        OpenAIChatGenerator(**{"model": "m", **options})
