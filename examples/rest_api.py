"""A small typed REST API: typed query parameters, JSON bodies, dependencies, OpenAPI.

Run it with ``conduit run examples.rest_api:app`` and open http://127.0.0.1:8000/docs.
Check it with ``conduit routes examples.rest_api:app --check``.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, TypedDict

import numpy as np

from conduit import Conduit, NotFound
from conduit.binding import Array, Depends, Header, Param, Query

app = Conduit(title="Bookshop", version="1.0.0",
              description="A typed REST API example: books, a search, and a tiny scoring endpoint.")


class Genre(str, Enum):
    FICTION = "fiction"
    SCIENCE = "science"
    HISTORY = "history"


@dataclass
class BookIn:
    """A book as clients send it."""

    title: Annotated[str, Param(min_length=1, max_length=200)]
    author: Annotated[str, Param(min_length=1, max_length=100)]
    year: Annotated[int, Param(ge=0, le=3000)]
    genre: Genre = Genre.FICTION
    tags: list[str] = field(default_factory=list)


@dataclass
class Book:
    """A stored book."""

    id: int
    title: str
    author: str
    year: int
    genre: Genre
    tags: list[str]
    added_by: str


class BookPage(TypedDict):
    items: list[Book]
    total: int
    page: int
    limit: int


class Scores(TypedDict):
    scores: list[float]


class Store:
    """An in-memory table; a lock because sync handlers run in worker threads."""

    def __init__(self) -> None:
        self.books: dict[int, Book] = {}
        self.next_id = 1
        self.lock = threading.Lock()

    def add(self, data: BookIn, user: str) -> Book:
        with self.lock:
            book = Book(self.next_id, data.title, data.author, data.year, data.genre, list(data.tags), user)
            self.books[book.id] = book
            self.next_id += 1
            return book


app.state.store = Store()


def get_store() -> Store:
    return app.state.store


def current_user(x_user: Annotated[str | None, Header(max_length=64)] = None) -> str:
    """Who is calling (a real app would check a token here)."""
    return x_user or "anonymous"


def find_book(book_id: int, store: Annotated[Store, Depends(get_store)]) -> Book:
    book = store.books.get(book_id)
    if book is None:
        raise NotFound(detail=f"no book {book_id}")
    return book


@app.get("/books")
def list_books(store: Annotated[Store, Depends(get_store)],
               page: Annotated[int, Query(ge=1, le=10_000)] = 1,
               limit: Annotated[int, Query(ge=1, le=100)] = 10,
               genre: Genre | None = None, author: str | None = None,
               tags: list[str] = []) -> BookPage:
    """List books, newest last, filtered by genre, author or tags."""
    start = (page - 1) * limit
    if genre is None and author is None and not tags:  # no filter: page straight from the store
        with store.lock:  # (docs/tuning.md: this listing used to filter every book on every request)
            items = list(itertools.islice(store.books.values(), start, start + limit))
            return {"items": items, "total": len(store.books), "page": page, "limit": limit}
    books = [b for b in list(store.books.values())
             if (genre is None or b.genre == genre) and (author is None or b.author == author)
             and all(t in b.tags for t in tags)]
    return {"items": books[start:start + limit], "total": len(books), "page": page, "limit": limit}


@app.post("/books", status_code=201)
def create_book(book: BookIn, store: Annotated[Store, Depends(get_store)],
                user: Annotated[str, Depends(current_user)]) -> Book:
    """Add a book."""
    return store.add(book, user)


@app.get("/books/{book_id:int}", errors=[NotFound])
def get_book(book: Annotated[Book, Depends(find_book)]) -> Book:
    """One book by id."""
    return book


@app.put("/books/{book_id:int}", errors=[NotFound])
def replace_book(data: BookIn, book: Annotated[Book, Depends(find_book)]) -> Book:
    """Replace a book's fields (its id and who added it stay)."""
    book.title, book.author, book.year = data.title, data.author, data.year
    book.genre, book.tags = data.genre, list(data.tags)
    return book


@app.delete("/books/{book_id:int}", errors=[NotFound])
def delete_book(book: Annotated[Book, Depends(find_book)],
                store: Annotated[Store, Depends(get_store)]) -> None:
    """Remove a book."""
    with store.lock:
        store.books.pop(book.id, None)


@app.post("/score")
def score(features: Annotated[np.ndarray, Array(shape=(None, 3), dtype="float64")]) -> Scores:
    """Score rows of three features (the largest feature per row: a stand-in for a model)."""
    if features.shape[0] == 0:
        return {"scores": []}
    return {"scores": features.max(axis=1).tolist()}


if __name__ == "__main__":
    app.run()
