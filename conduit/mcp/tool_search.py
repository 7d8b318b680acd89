"""Tool search for large catalogues: ``MCPServer(tool_search=True, pinned=[...])``.

A model's context cannot hold a thousand tool schemas. With tool search, ``tools/list``
shows only the ``pinned`` tools, a ``search_tools`` tool, and the tools that searches on
this connection have found so far. ``search_tools(query, limit=5)`` ranks the whole
catalogue with Okapi BM25 (:class:`conduit.vector.lexical.BM25Index`, the project's
kernels) over each tool's name, title, description and parameter names and descriptions,
and returns the best matches with their input schemas. When a search finds tools this
connection does not list yet, they join its list and the server sends
``notifications/tools/list_changed``, so a client that re-lists sees them as callable.
A call by name works for every tool (search results carry what a client needs to call).

Text is normalised before indexing and before each query, the same way: identifiers
split at ``_``, ``-``, ``.`` and camelCase (``getWeatherForecast`` -> get weather
forecast), lower-cased, and a light suffix stripping (forecasts -> forecast, shipping ->
ship) so that a paraphrase need not repeat the tool's exact word forms. A query also
asks for the action verb its words imply ("remove" -> delete, "how many" -> count,
``expand_query``), since tool names use a few verbs and people many. The index is
built on the first search after the catalogue changes (adding or removing a tool).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from conduit.mcp.protocol.context import Context
from conduit.mcp.protocol.jsonrpc import InvalidParams

__all__ = ["ToolSearch", "SEARCH_TOOL", "normalise", "expand_query"]

SEARCH_TOOL = "search_tools"
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_MAX_LIMIT = 50
MAX_QUERY_CHARS = 2000


def _stem(word: str) -> str:
    """A light suffix stripper: enough to meet a paraphrase's plural or -ing form half way."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for suffix, keep in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep - 1 and not word.endswith("ss"):
            stem = word[: -len(suffix)]
            if suffix == "es" and not stem.endswith(("s", "x", "z", "ch", "sh")):
                stem = word[:-1]
            if suffix in ("ing", "ed") and len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # shipping -> shipp -> ship
            return stem
    return word


def normalise(text: str) -> str:
    """Identifiers split, lower-cased and lightly stemmed: the text BM25 indexes and queries with."""
    return " ".join(_stem(w.lower()) for w in _WORD.findall(text))


# Tool names and descriptions say what they do with a handful of verbs (create, get, list,
# search, update, delete, ...); people asking for a tool use many more. A query word on the
# left also asks for the verb on the right, so "remove the file" meets ``delete_file``. The
# table is about verbs in general, not about any catalogue; the words are stems (normalise()).
_ACTION_WORDS = {
    "create": "add new make open file start post write send schedule book plan draft compose generate register "
              "record put set up launch spin",
    "get": "fetch show read view look detail what check retrieve",
    "list": "show all which recent browse enumerate every",
    "search": "find look lookup locate query where which",
    "update": "change edit modify move set rename scale adjust switch turn",
    "delete": "remove drop erase destroy cancel rid purge kill",
    "count": "many number total tally",
    "archive": "hide close resolve stash",
    "restore": "undelete recover unarchive undo",
    "export": "download dump csv",
    "share": "give access invite grant",
    "watch": "subscribe notify follow",
}
_EXPAND = {}
for _action, _words in _ACTION_WORDS.items():
    for _word in normalise(_words).split():
        _EXPAND.setdefault(_word, []).append(normalise(_action))


def expand_query(text: str) -> str:
    """``normalise(text)`` plus the action verbs its words ask for (see ``_ACTION_WORDS``)."""
    words = normalise(text).split()
    extra = [action for word in words for action in _EXPAND.get(word, ())]
    return " ".join(words + extra)


def _document(tool: Any) -> str:
    wire = tool.wire
    parts = [wire["name"], wire["name"], wire.get("title") or "", wire.get("description") or ""]
    properties = (wire.get("inputSchema") or {}).get("properties") or {}
    if isinstance(properties, dict):
        for name, schema in properties.items():
            parts.append(str(name))
            if isinstance(schema, dict) and isinstance(schema.get("description"), str):
                parts.append(schema["description"])
    return normalise(" ".join(parts))


class ToolSearch:
    """The search index of one server's catalogue and what each connection has found."""

    def __init__(self, server: Any, pinned: Iterable[str] = ()) -> None:
        if isinstance(pinned, str):
            raise ValueError("pinned must be a list of tool names, not one string")
        self.server = server
        self.pinned = list(dict.fromkeys(pinned))
        self._index: Any = None
        self._stale = True
        self._lock = threading.Lock()
        self._found: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
        server.add_listener(self._on_server_event)

    def _on_server_event(self, method: str, params: dict[str, Any]) -> None:
        if method == "notifications/tools/list_changed":
            self._stale = True

    # ------------------------------------------------------------ index
    def _current_index(self) -> Any:
        with self._lock:
            if self._stale or self._index is None:
                from conduit.vector.lexical import BM25Index  # numpy + kernels: loaded on first search

                index = BM25Index()
                tools = [t for name, t in self.server.tools.items() if name != SEARCH_TOOL]
                if tools:
                    index.add([t.wire["name"] for t in tools], [_document(t) for t in tools])
                self._index, self._stale = index, False
            return self._index

    def search(self, query: str, limit: int = 5) -> list[tuple[str, float]]:
        """The ``limit`` best ``(tool name, score)`` for ``query``, best first (no match: empty)."""
        if not isinstance(query, str) or not query.strip():
            raise ValueError("query must be a non-empty string describing the tool you need")
        if len(query) > MAX_QUERY_CHARS:  # a task described in a sentence, not a document to rank against
            raise ValueError(f"query is longer than {MAX_QUERY_CHARS} characters ({len(query)}); describe the task briefly")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise ValueError(f"limit must be an integer from 1 to {_MAX_LIMIT}, not {limit!r}")
        text = expand_query(query)
        if not text:
            return []
        return [(name, score) for name, score, _ in self._current_index().search(text, k=limit)]

    def warm(self) -> None:
        """Build the index and run one search: BM25's kernels load before the first client asks."""
        self.search("warm up the tool index", 1)

    # ------------------------------------------------------------ what a connection lists
    def listed(self, connection: Any) -> list[dict[str, Any]]:
        """The ``tools/list`` of ``connection``: pinned, ``search_tools``, then what it has found."""
        tools = self.server.tools
        names = list(dict.fromkeys([*self.pinned, SEARCH_TOOL, *sorted(self._found.get(connection, ()))]))
        return [tools[name].wire for name in names if name in tools]

    def reveal(self, connection: Any, names: Iterable[str]) -> bool:
        """Add ``names`` to what ``connection`` lists; True when its list changed."""
        shown = set(self.pinned)
        found = self._found.setdefault(connection, set())
        new = [n for n in names if n not in shown and n not in found]
        found.update(new)
        return bool(new)


def install(server: Any, pinned: Iterable[str]) -> ToolSearch:
    """Give ``server`` tool search: the index, and the ``search_tools`` tool itself."""
    search = ToolSearch(server, pinned)

    async def search_tools(query: str, ctx: Context, limit: int = 5) -> dict[str, Any]:
        """Find the tools for a task among all this server's tools; returns their names, descriptions and input schemas.

        Args:
            query: what you want to do, in your own words (e.g. "forecast for Paris tomorrow").
            limit: how many tools to return (1 to 50).
        """
        try:
            ranked = search.search(query, limit)
        except ValueError as exc:
            raise InvalidParams(str(exc)) from None
        tools = server.tools
        found = [{**{k: v for k, v in tools[name].wire.items() if k in ("name", "title", "description",
                                                                         "inputSchema", "annotations")},
                  "score": round(score, 4)} for name, score in ranked if name in tools]
        connection = ctx.connection
        # Only a connection that outlives this request has a list that can change.
        if (connection.session_id is not None or connection.can_request) and \
                search.reveal(connection, [t["name"] for t in found]):
            await ctx.send_notification("notifications/tools/list_changed", {})
        return {"tools": found}

    # Not read-only: a search changes what this connection lists (so no cache may answer it).
    server.add_tool(search_tools, name=SEARCH_TOOL)
    return search
