"""Multi-valued, read-only views of headers and query parameters."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from urllib.parse import parse_qsl


class Headers(Mapping[str, str]):
    """Case-insensitive, multi-valued request headers.

    Built from the ``(name, value)`` byte pairs h11 produces (names already
    lower-cased). ``headers[name]`` and ``get`` return the first value;
    ``getlist`` returns all of them in order.
    """

    __slots__ = ("_raw", "_index")

    def __init__(self, raw: list[tuple[bytes, bytes]] | None = None):
        self._raw = raw or []
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def from_pairs(cls, pairs) -> "Headers":
        """From ``(str, str)`` pairs in any case (used by tests and clients)."""
        return cls([(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs])

    def _build(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self._raw:
            index.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        return (self._index or self._build())[name.lower()][0]

    def get(self, name: str, default=None):
        values = (self._index or self._build()).get(name.lower())
        return values[0] if values else default

    def getlist(self, name: str) -> list[str]:
        return list((self._index or self._build()).get(name.lower(), ()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in (self._index or self._build())

    def __iter__(self) -> Iterator[str]:
        return iter(self._index or self._build())

    def __len__(self) -> int:
        return len(self._index or self._build())

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._raw

    def __repr__(self) -> str:
        return f"Headers({[(k.decode('latin-1'), v.decode('latin-1')) for k, v in self._raw]!r})"


class QueryParams(Mapping[str, str]):
    """Multi-valued query parameters parsed from the raw query string.

    ``params[key]`` and ``get`` return the last value (as most frameworks do for
    ``?a=1&a=2``); ``getlist`` returns every value in order.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, query_string: bytes | str = b""):
        if isinstance(query_string, bytes):
            query_string = query_string.decode("latin-1")
        self._items = parse_qsl(query_string, keep_blank_values=True)
        self._index: dict[str, list[str]] = {}
        for key, value in self._items:
            self._index.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> str:
        return self._index[key][-1]

    def getlist(self, key: str) -> list[str]:
        return list(self._index.get(key, ()))

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"QueryParams({self._items!r})"
