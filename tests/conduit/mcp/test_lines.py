"""The stdio line framer (both ends): whole input and one byte at a time agree; long lines drop."""

from hypothesis import given, strategies as st

from conduit.mcp.protocol.lines import OVERSIZED, LineFramer


def _frame(chunks, max_bytes):
    framer = LineFramer(max_bytes)
    return [x for chunk in chunks for x in framer.feed(chunk)]


@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=12), st.integers(min_value=1, max_value=64))
def test_whole_and_byte_at_a_time_agree(lines, max_bytes):
    data = b"\n".join(lines) + b"\n"
    whole = _frame([data], max_bytes)
    assert whole == _frame([data[i:i + 1] for i in range(len(data))], max_bytes)
    expected = []
    for line in lines:
        if len(line) > max_bytes:
            expected.append(OVERSIZED)
        elif line.strip():
            expected.append(line.strip())
    assert whole == expected


def test_a_line_without_end_is_dropped_once_and_the_next_line_survives():
    framer = LineFramer(8)
    assert framer.feed(b"x" * 20) == [OVERSIZED]
    assert framer.feed(b"y" * 100) == []
    assert framer.feed(b"z\n{}\n") == [b"{}"]
