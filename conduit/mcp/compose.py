"""Composition: ``parent.mount(child, prefix="weather")`` serves another server under a namespace.

The child's tools and prompts appear as ``weather_<name>``; its resources and templates
under the ``weather://`` scheme, the child's own scheme kept as the first path segment
(``data://items/{id}`` → ``weather://data/items/{id}``), rewritten back on the way in. The
parent holds *copies* of the child's descriptors (same function, schema and binder, new
name and wire dict), so a mounted tool is called exactly as a local one: composition costs
nothing per call. The mount listens to the child: a list change re-syncs the copies and is
announced by the parent; a resource update is forwarded with its URI rewritten; progress
and logs need no forwarding, as a mounted function runs inside the parent's request.
Resource links and embedded resources a mounted tool returns are rewritten when they name
one of the child's resources. A name or URI that collides with one the parent already has
is refused at mount, naming both; :meth:`Mount.remove` (``parent.unmount``) takes the
copies away and announces ``list_changed``. The parent's MCP middleware wraps mounted
tools like its own; the child's middleware is the child's (it wraps what the child serves).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable
from typing import Any

from conduit.mcp.content import EmbeddedResource, ResourceLink, ToolResult
from conduit.mcp.uri_template import UriTemplate

__all__ = ["Mount", "mount_server", "parent_uri", "child_uri"]

log = logging.getLogger("conduit.mcp.compose")
_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]*\Z")  # a valid URI scheme (RFC 3986 §3.1) and tool-name part
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)\Z", re.S)
_SCHEME_SEGMENT = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)/(.*)\Z", re.S)
_LIST_CHANGED = {"tools": "notifications/tools/list_changed", "prompts": "notifications/prompts/list_changed",
                 "resources": "notifications/resources/list_changed"}
_KIND_OF_EVENT = {v: k for k, v in _LIST_CHANGED.items()}


def parent_uri(prefix: str, uri: str) -> str:
    """``data://items/1`` → ``weather://data/items/1``; a URI without ``://`` goes after the prefix."""
    m = _SCHEME.match(uri)
    return f"{prefix}://{m.group(1)}/{m.group(2)}" if m else f"{prefix}://{uri}"


def child_uri(prefix: str, uri: str) -> str | None:
    """The inverse of :func:`parent_uri`; None when ``uri`` is not under ``prefix://``."""
    head = f"{prefix}://"
    if not uri.startswith(head):
        return None
    rest = uri[len(head):]
    m = _SCHEME_SEGMENT.match(rest)
    return f"{m.group(1)}://{m.group(2)}" if m else rest


class Mount:
    """One child server mounted on a parent under ``prefix``; keeps the parent's copies in sync."""

    def __init__(self, parent: Any, child: Any, prefix: str) -> None:
        if not isinstance(prefix, str) or not _PREFIX.match(prefix):
            raise ValueError(f"mount prefix {prefix!r} must start with a letter and hold only letters, digits "
                             f"and '-' (it becomes both a name prefix and a URI scheme)")
        if child is parent:
            raise ValueError(f"cannot mount MCP server {parent.name!r} on itself")
        self.parent = parent
        self.child = child
        self.prefix = prefix
        # kind -> {parent key: the copy installed there}
        self.installed: dict[str, dict[Any, Any]] = {
            "tools": {}, "prompts": {}, "resources": {}, "templates": {}, "completers": {}}

    # ------------------------------------------------------------ the copies
    def _copies(self) -> dict[str, dict[Any, Any]]:
        child, prefix = self.child, self.prefix
        tools = {}
        for tool in list(child.tools.values()):
            name = f"{prefix}_{tool.name}"
            fn = _rewrite_links(tool.fn, tool.is_async, self) if self._has_resources() else tool.fn
            tools[name] = dataclasses.replace(tool, name=name, fn=fn, wire={**tool.wire, "name": name})
        prompts = {}
        for prompt in list(child.prompts.values()):
            name = f"{prefix}_{prompt.name}"
            prompts[name] = dataclasses.replace(prompt, name=name, wire={**prompt.wire, "name": name})
        resources = {}
        for resource in list(child.resources.values()):
            uri = parent_uri(prefix, resource.uri)
            resources[uri] = dataclasses.replace(resource, uri=uri, wire={**resource.wire, "uri": uri})
        templates = {}
        for key, template in list(child.templates.items()):
            uri = parent_uri(prefix, key)
            templates[uri] = dataclasses.replace(template, template=UriTemplate(uri),
                                                 wire={**template.wire, "uriTemplate": uri})
        completers = {}
        for (kind, ref, argument), fn in list(child.completers.items()):
            ref = f"{prefix}_{ref}" if kind == "ref/prompt" else parent_uri(prefix, ref)
            completers[(kind, ref, argument)] = fn
        return {"tools": tools, "prompts": prompts, "resources": resources, "templates": templates,
                "completers": completers}

    def _has_resources(self) -> bool:
        return bool(self.child.resources or self.child.templates)

    def _registry(self, kind: str) -> dict[Any, Any]:
        return getattr(self.parent, kind)

    def _collisions(self, copies: dict[str, dict[Any, Any]]) -> list[str]:
        found = []
        for kind, entries in copies.items():
            registry, mine = self._registry(kind), self.installed[kind]
            for key in entries:
                if key in registry and mine.get(key) is not registry[key]:
                    found.append(f"{kind[:-1]} {key!r} of mounted server {self.child.name!r} collides with "
                                 f"{_owner(self.parent, kind, key)}")
        return found

    def install(self) -> None:
        """Install every copy, or none: a collision is a ValueError naming both sides."""
        copies = self._copies()
        collisions = self._collisions(copies)
        if collisions:
            raise ValueError(f"cannot mount {self.child.name!r} at prefix {self.prefix!r}: " + "; ".join(collisions))
        for kind, entries in copies.items():
            self._registry(kind).update(entries)
            self.installed[kind] = dict(entries)
        self.child.add_listener(self._on_child_event)
        for kind in ("tools", "prompts", "resources"):
            self.parent.notify_list_changed(kind)

    def sync(self, kind: str) -> None:
        """Re-copy one kind after the child changed it; an entry that now collides is skipped, logged."""
        kinds = ("resources", "templates", "completers", "tools") if kind == "resources" else (kind, "completers")
        copies = self._copies()
        for each in kinds:
            registry, mine = self._registry(each), self.installed[each]
            for key, copy in mine.items():
                if registry.get(key) is copy:
                    del registry[key]
            fresh: dict[Any, Any] = {}
            for key, copy in copies[each].items():
                if key in registry:
                    log.error("mounted server %r: %s %r collides with %s; not exposed", self.child.name, each[:-1],
                              key, _owner(self.parent, each, key))
                    continue
                registry[key] = fresh[key] = copy
            self.installed[each] = fresh
        self.parent.notify_list_changed(kind)

    def remove(self) -> None:
        """Take every copy away again and announce the lists that changed."""
        self.child.remove_listener(self._on_child_event)
        changed = set()
        for kind, mine in self.installed.items():
            registry = self._registry(kind)
            for key, copy in mine.items():
                if registry.get(key) is copy:
                    del registry[key]
                    changed.add("resources" if kind == "templates" else kind)
            mine.clear()
        for kind in ("tools", "prompts", "resources"):
            if kind in changed:
                self.parent.notify_list_changed(kind)

    # ------------------------------------------------------------ the child's events
    def _on_child_event(self, method: str, params: dict[str, Any]) -> None:
        kind = _KIND_OF_EVENT.get(method)
        if kind is not None:
            self.sync(kind)
        elif method == "notifications/resources/updated" and isinstance(params.get("uri"), str):
            self.parent.notify_resource_updated(parent_uri(self.prefix, params["uri"]))

    def outward_uri(self, uri: str) -> str:
        """A URI a mounted tool returned: rewritten when it names one of the child's resources."""
        child = self.child
        if uri in child.resources or any(t.template.match(uri) is not None for t in child.templates.values()):
            return parent_uri(self.prefix, uri)
        return uri


def _owner(parent: Any, kind: str, key: Any) -> str:
    # Prefixes hold no "_" and are distinct schemes, so two mounts never collide: the other
    # side is always the parent's own entry.
    return f"the {kind[:-1]} {key!r} of the parent server {parent.name!r}"


def _rewrite_value(value: Any, mount: Mount) -> Any:
    if isinstance(value, (ResourceLink, EmbeddedResource)):
        uri = mount.outward_uri(value.uri)
        return value if uri == value.uri else dataclasses.replace(value, uri=uri)
    if isinstance(value, ToolResult):
        return dataclasses.replace(value, content=[_rewrite_value(c, mount) for c in value.content])
    if isinstance(value, list):
        return [_rewrite_value(item, mount) for item in value]
    return value


def _rewrite_links(fn: Callable[..., Any], is_async: bool, mount: Mount) -> Callable[..., Any]:
    """Wrap a mounted tool so the resource URIs in its result are the parent's."""
    if is_async:
        async def call_async(**kwargs: Any) -> Any:
            return _rewrite_value(await fn(**kwargs), mount)
        wrapper: Callable[..., Any] = call_async
    else:
        def call(**kwargs: Any) -> Any:
            return _rewrite_value(fn(**kwargs), mount)
        wrapper = call
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def mount_server(parent: Any, child: Any, prefix: str) -> Mount:
    if prefix in parent.mounts:
        raise ValueError(f"prefix {prefix!r} is already mounted (server {parent.mounts[prefix].child.name!r}); "
                         f"unmount it first")
    mount = Mount(parent, child, prefix)
    mount.install()
    parent.mounts[prefix] = mount
    if child.startup_hooks:  # a mounted proxy connects before the parent's first answer
        parent.on_startup(child.ensure_started)
    for fn in child.background_tasks:
        if fn not in parent.background_tasks:
            parent.background_tasks.append(fn)
    return mount
