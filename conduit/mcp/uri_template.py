"""RFC 6570 URI templates, the subset MCP resource templates use, compiled to regexes.

``{var}`` matches one path segment (no ``/``); ``{+var}`` and ``{var*}`` match the rest,
slashes included. Matching is exact: the whole URI must match the template.

>>> UriTemplate("test://template/{id}/data").match("test://template/123/data")
{'id': '123'}
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = ["UriTemplate", "is_template"]

_VAR = re.compile(r"\{([+#]?)([A-Za-z_][A-Za-z0-9_]*)(\*?)\}")


def is_template(uri: str) -> bool:
    return _VAR.search(uri) is not None


class UriTemplate:
    def __init__(self, template: str) -> None:
        self.template = template
        pattern = []
        self.variables: list[str] = []
        pos = 0
        for m in _VAR.finditer(template):
            pattern.append(re.escape(template[pos:m.start()]))
            operator, name, explode = m.groups()
            if name in self.variables:
                raise ValueError(f"URI template {template!r} repeats the variable {name!r}")
            self.variables.append(name)
            pattern.append(f"(?P<{name}>.+?)" if operator or explode else f"(?P<{name}>[^/?#]+)")
            pos = m.end()
        pattern.append(re.escape(template[pos:]))
        self._regex = re.compile("".join(pattern) + r"\Z")

    def expand(self, variables: dict[str, str]) -> str:
        """The URI for ``variables`` (RFC 6570 §3.2.2 simple and §3.2.3 reserved expansion)."""
        def value(m: re.Match[str]) -> str:
            operator, name, explode = m.groups()
            safe = ":/?#[]@!$&'()*+,;=" if operator or explode else ""
            return quote(str(variables[name]), safe=safe)
        return _VAR.sub(value, self.template)

    def match(self, uri: str) -> dict[str, str] | None:
        m = self._regex.match(uri)
        if m is None:
            return None
        return {k: unquote(v) for k, v in m.groupdict().items()}
