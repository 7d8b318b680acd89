"""``conduit routes MODULE:APP --stats URL``: a running server's hot routes, and hints.

Reads the JSON statistics endpoint (``install(app, statistics_path=...)``) over
HTTP, prints one row per route and method, hottest first, then the hints of
:mod:`.hints` computed against the app's own route table (loaded from
``MODULE:APP``, so the table and the traffic are the same app's).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from .hints import route_hints
from .statistics import AppStatistics


def fetch_statistics(url: str, timeout: float = 10.0) -> AppStatistics:
    """GET ``url`` and read it as a statistics document (``ValueError`` naming what went wrong)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"--stats needs an http(s) URL of the statistics endpoint, got {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise ValueError(f"{url} answered {exc.code}: is the statistics endpoint enabled "
                         f"(install(app, statistics_path=...))?") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ValueError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None
    except json.JSONDecodeError:
        raise ValueError(f"{url} did not answer JSON") from None
    return AppStatistics.from_json(data)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def format_table(statistics: AppStatistics) -> list[str]:
    header = ("METHOD", "PATTERN", "COUNT", "SHARE", "ERRORS", "P50_MS", "P90_MS", "P99_MS", "BYTES_IN", "BYTES_OUT")
    rows = [header] + [(r.method, r.route, str(r.count), f"{r.share:.1%}", str(r.errors), _ms(r.p50), _ms(r.p90),
                        _ms(r.p99), str(r.bytes_in), str(r.bytes_out)) for r in statistics.routes]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]


def main_stats(app: Any, url: str, as_json: bool = False) -> int:
    """Print ``app``'s statistics read from ``url``, then the hints; 1 if unreachable.

    The CLI loads ``app`` from ``MODULE:APP`` (:func:`conduit.cli.load_target`).
    """
    try:
        statistics = fetch_statistics(url)
    except ValueError as exc:
        print(f"error: {exc}")
        return 1
    hints = route_hints(app, statistics)
    if as_json:
        from dataclasses import asdict

        print(json.dumps({**statistics.to_json(), "hints": [asdict(h) for h in hints]}, indent=2))
        return 0
    for line in format_table(statistics):
        print(line)
    print(f"\n{statistics.total} request(s) on these routes, {statistics.unmatched} unmatched")
    for hint in hints:
        print(hint)
    return 0
