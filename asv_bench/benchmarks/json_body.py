"""The one body parser, ``conduit._json.loads_body``, beside the parsers it stands on.

``loads_body`` is orjson plus a scan for a run of 19 digits (the only way orjson can
lose an integer); a body with such a literal is re-read by the standard library. Peers
in the same run: ``orjson.loads`` (the fast path without the exactness scan) and
``json.loads`` (the fallback). Bodies: a small typed-API body, a 64-row prediction
batch, a 2,000-row batch (36 KB) and a small body holding 10**30 + 1 (the fallback
path). ``python asv_bench/benchmarks/json_body.py`` prints µs per parse directly.
"""

from __future__ import annotations

import json
import timeit

import orjson

from conduit._json import loads_body

BODIES = {
    "small": orjson.dumps({"name": "boots", "price": 59.5, "tags": ["leather", "winter"], "page": 2}),
    "rows64": orjson.dumps({"rows": [[5.1, 3.5, 1.4, 0.2]] * 64, "probabilities": True}),
    "rows2000": orjson.dumps({"rows": [[5.1, 3.5, 1.4, 0.2]] * 2000}),
    "big_int": b'{"id": %d, "name": "boots", "price": 59.5}' % (10 ** 30 + 1),
}
PARSERS = {"loads_body": loads_body, "orjson": orjson.loads, "stdlib": json.loads}


class JSONBody:
    params = (list(BODIES), list(PARSERS))
    param_names = ["body", "parser"]

    def setup(self, body, parser):
        self.body = BODIES[body]
        self.parse = PARSERS[parser]
        self.parse(self.body)

    def time_parse(self, body, parser):
        self.parse(self.body)


def main() -> None:
    print("µs per parse, best of 7 (each the mean of a loop):")
    print(f"  {'body':10} {'bytes':>6}" + "".join(f"{name:>12}" for name in PARSERS))
    for label, body in BODIES.items():
        number = 200 if len(body) > 10_000 else 20_000
        row = []
        for parse in PARSERS.values():
            best = min(timeit.repeat(lambda: parse(body), number=number, repeat=7)) / number
            row.append(best * 1e6)
        print(f"  {label:10} {len(body):6d}" + "".join(f"{us:12.2f}" for us in row))


if __name__ == "__main__":
    main()
