"""An OpenAI-compatible chat-completions client as a RAG generator (httpx, streaming, retries).

Owns: the request body (a system prompt, the context, the question), reading the
answer (one JSON body, or Server-Sent Events of ``choices[0].delta.content`` up to
``data: [DONE]``), and which failures are retried. Knows nothing of retrieval: it is
a generator ``(question, context, sources) -> chunks`` like any other.

Failures, all :class:`ChatCompletionError` (a ``BadGateway``, 502, naming the upstream
status when there is one):

- until the answer starts, each attempt is bounded by ``timeout`` (a trio cancel
  scope, :mod:`conduit.resilience`) and a 429, a 5xx, a timeout or a connection error
  is retried ``attempts`` times in all with jittered backoff; other 4xx are not retried;
- once chunks have gone out, nothing is retried (they cannot be taken back): a
  stream cut in the middle (connection closed, or the body ends before
  ``[DONE]``) raises, and :meth:`RAGPipeline.aevents` turns that into an ``error`` event;
- between chunks, httpx's read timeout (``read_timeout``) bounds the silence.

Runs under trio (conduit's loop); each call opens its own ``httpx.AsyncClient``,
so it is safe across event loops and threads.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator, Sequence

from ..exceptions import BadGateway

__all__ = ["ChatCompletionError", "OpenAIChatGenerator"]

SYSTEM_PROMPT = ("Answer the question using only the context. If the context does not contain "
                 "the answer, say that you do not know.")


class ChatCompletionError(BadGateway):
    """The chat-completions upstream failed; ``upstream_status`` is its HTTP status (or None)."""

    def __init__(self, message: str, upstream_status: int | None = None, retryable: bool = False):
        self.upstream_status = upstream_status
        self.retryable = retryable
        super().__init__(detail=message)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or (isinstance(exc, ChatCompletionError) and exc.retryable)


class OpenAIChatGenerator:
    """``generator(question, context, sources)`` over ``POST {base_url}/chat/completions``.

    Parameters
    ----------
    model : the model name sent in the body
    base_url : e.g. ``"https://api.openai.com/v1"`` or a local server's ``"http://127.0.0.1:8000/v1"``
    api_key : sent as ``Authorization: Bearer``; None sends none
    stream : ask for Server-Sent Events and yield chunks as they come (else one string)
    timeout : seconds per attempt until the response starts; read_timeout : seconds of silence
    attempts, base_delay, max_delay : retries (see :func:`conduit.resilience.retry`)
    system_prompt, temperature, max_tokens, extra_body : what the request carries
    """

    def __init__(self, model: str, *, base_url: str = "https://api.openai.com/v1",
                 api_key: str | None = None, stream: bool = True, timeout: float = 30.0,
                 read_timeout: float = 60.0, attempts: int = 3, base_delay: float = 0.5,
                 max_delay: float = 8.0, system_prompt: str = SYSTEM_PROMPT,
                 temperature: float | None = None, max_tokens: int | None = None,
                 extra_body: dict | None = None):
        if not isinstance(model, str) or not model:
            raise ValueError("model must be a non-empty string")
        if not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be a positive integer, got {attempts!r}")
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.stream = stream
        self.timeout, self.read_timeout = float(timeout), float(read_timeout)
        self.attempts, self.base_delay, self.max_delay = attempts, base_delay, max_delay
        self.system_prompt = system_prompt
        self.temperature, self.max_tokens = temperature, max_tokens
        self.extra_body = dict(extra_body or {})

    def __repr__(self) -> str:
        return f"OpenAIChatGenerator(model={self.model!r}, url={self.url!r}, stream={self.stream})"

    def body(self, question: str, context: str, sources: Sequence[Any] = ()) -> dict:
        """The JSON request body for one question."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": self.system_prompt},
                         {"role": "user", "content": f"Context:\n{context}\n\nQuestion: {question}"}],
            "stream": self.stream,
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return {**body, **self.extra_body}

    def __call__(self, question: str, context: str, sources: Sequence[Any] = ()) -> Any:
        body = self.body(question, context, sources)
        return self._stream(body) if self.stream else self._complete(body)

    def _client(self):
        import httpx

        headers = {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        timeout = httpx.Timeout(self.read_timeout, connect=self.timeout)
        return httpx.AsyncClient(headers=headers, timeout=timeout)

    async def _open(self, client, body: dict):
        """One attempt: the response once its status is 200, else a ChatCompletionError."""
        import httpx

        try:
            response = await client.send(client.build_request("POST", self.url, json=body), stream=True)
        except httpx.TimeoutException as exc:
            raise ChatCompletionError(f"{self.url} timed out ({type(exc).__name__})", None, True) from None
        except httpx.TransportError as exc:
            raise ChatCompletionError(f"cannot reach {self.url}: {exc}", None, True) from None
        if response.status_code != 200:
            detail = (await response.aread())[:300].decode("utf-8", "replace")
            await response.aclose()
            status = response.status_code
            raise ChatCompletionError(f"{self.url} answered {status}: {detail}", status,
                                      status == 429 or status >= 500)
        return response

    async def _guarded_open(self, client, body: dict):
        from ..resilience import Resilient

        call = Resilient(self._open, name="openai-chat", timeout=self.timeout, attempts=self.attempts,
                         base_delay=self.base_delay, max_delay=self.max_delay, retry_on=_retryable)
        try:
            return await call(client, body)
        except TimeoutError:
            raise ChatCompletionError(f"{self.url} did not answer within {self.timeout} s",
                                      None, True) from None

    async def _complete(self, body: dict) -> str:
        import httpx

        async with self._client() as client:
            response = await self._guarded_open(client, body)
            try:
                data = json.loads(await response.aread())
                return str(data["choices"][0]["message"]["content"] or "")
            except httpx.TransportError as exc:
                raise ChatCompletionError(f"the answer from {self.url} was cut: {exc}") from None
            except (ValueError, KeyError, IndexError, TypeError):
                raise ChatCompletionError(f"{self.url} sent no chat completion") from None
            finally:
                await response.aclose()

    async def _stream(self, body: dict) -> AsyncIterator[str]:
        import httpx

        async with self._client() as client:
            response = await self._guarded_open(client, body)
            sent = 0
            try:
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # comments, event names, blank separators
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    text = _delta(data)
                    if text:
                        sent += 1
                        yield text
            except httpx.TransportError as exc:
                raise ChatCompletionError(f"the stream from {self.url} was cut after {sent} chunks: "
                                          f"{type(exc).__name__}") from None
            finally:
                await response.aclose()
            raise ChatCompletionError(f"the stream from {self.url} ended after {sent} chunks "
                                      "without [DONE]")


def _delta(data: str) -> str:
    try:
        choice = json.loads(data)["choices"][0]
        return str((choice.get("delta") or {}).get("content") or "")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ChatCompletionError(f"a stream event is not a chat-completion chunk: {data[:100]!r}") from None
