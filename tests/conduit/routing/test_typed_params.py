"""Typed path parameters convert straight from the kernel's spans, no looser than the pattern.

``Router.match`` converts an ``{id:int}`` span with ``int`` directly (the kernel already
matched ``-?[0-9]+`` on the raw bytes); these tests hold that shortcut to the pattern's
meaning: every digit string becomes the same integer, over-long ones stay text for the
binder's 422, and what ``int()`` alone would accept but the pattern does not (spaces,
underscores, non-ASCII digits, a plus sign) never matches.
"""

from __future__ import annotations

import sys

from hypothesis import given
from hypothesis import strategies as st

from conduit.routing import Router
from conduit.types.text import MAX_INT_DIGITS


def _router() -> Router:
    router = Router()
    router.add("/users/{id:int}", ["GET"], lambda id: id)
    router.add("/pairs/{a:int}/{b:int}/{rest:path}", ["GET"], lambda a, b, rest: a)
    router.compile()
    return router


ROUTER = _router()


@given(st.from_regex(r"\A-?[0-9]{1,60}\Z"))
def test_every_digit_string_becomes_its_integer(text):
    match = ROUTER.match("GET", f"/users/{text}".encode())
    assert match.route is not None and match.params == {"id": int(text)}


@given(st.integers(), st.integers(), st.from_regex(r"\A[a-z0-9/]{1,20}\Z"))
def test_several_parameters_keep_their_own_spans(a, b, rest):
    match = ROUTER.match("GET", f"/pairs/{a}/{b}/{rest}".encode())
    assert match.params == {"a": a, "b": b, "rest": rest}


def test_over_long_integer_stays_text_for_the_binder():
    text = "9" * (MAX_INT_DIGITS + 1)
    assert ROUTER.match("GET", f"/users/{text}".encode()).params == {"id": text}
    assert ROUTER.match("GET", f"/users/{'9' * MAX_INT_DIGITS}".encode()).params == {"id": int("9" * MAX_INT_DIGITS)}


def test_interpreter_digit_limit_lower_than_ours_stays_text():
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(640)
    try:
        text = "7" * 1000
        assert ROUTER.match("GET", f"/users/{text}".encode()).params == {"id": text}
    finally:
        sys.set_int_max_str_digits(old)


def test_what_int_accepts_but_the_pattern_does_not_never_matches():
    for raw in (b"/users/4_2", b"/users/%2042", b"/users/+42", b"/users/42%20", b"/users/\xef\xbc\x94\xef\xbc\x92",
                b"/users/%3142%2B", b"/users/0x2a", b"/users/", b"/users/-"):
        assert ROUTER.match("GET", raw).route is None, raw


def test_escaped_digits_decode_to_the_same_integer():
    assert ROUTER.match("GET", b"/users/%34%32").params == {"id": 42}
    assert ROUTER.match("GET", b"/users/%2D7").params == {"id": -7}
