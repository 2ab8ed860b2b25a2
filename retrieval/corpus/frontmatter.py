"""YAML front matter of Markdown articles, read with bounded time and memory.

YAML is a parser with expansion: nine levels of ``&a [*b, *b, …]`` in 458 bytes expand
to gigabytes when the values are walked. So the loader refuses anchors and aliases,
explicit tags (``!!int``, ``!!binary``, ...), nesting deeper than a few levels and front
matter over a few kilobytes; every plain scalar stays text (``date: 2024-02-30`` is a bad
date, not a crash); and only text values are taken, for the keys an article uses. The
rest is ignored, never expanded.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import BadArticle

MAX_FRONT_MATTER_CHARS = 8_192
MAX_DEPTH = 8
KNOWN_KEYS = ("title", "date", "source", "url", "author", "byline")
_PLAIN_TAGS = frozenset({None, "!"} | {f"tag:yaml.org,2002:{kind}" for kind in ("str", "seq", "map", "null")})


def parse_front_matter(source: str, path: Path) -> dict[str, str]:
    """The known text fields of a YAML front matter block; :class:`BadArticle` for anything hostile."""
    if len(source) > MAX_FRONT_MATTER_CHARS:
        raise BadArticle(path, f"front matter longer than {MAX_FRONT_MATTER_CHARS} characters; refused")
    import yaml  # only Markdown with front matter needs it

    try:
        data = yaml.load(source, Loader=_loader_class(yaml))
    except _Refused as err:
        raise BadArticle(path, f"front matter {err}; refused") from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as err:
        raise BadArticle(path, f"front matter is not valid YAML ({err.__class__.__name__})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadArticle(path, "front matter must be a mapping of keys to values")
    meta: dict[str, str] = {}
    for key, value in data.items():
        if not isinstance(key, str) or key.lower() not in KNOWN_KEYS or value is None:
            continue  # unknown keys (tags, layout, ...) are ignored, whatever their value
        if not isinstance(value, str):
            raise BadArticle(path, f"front matter {key!r} must be text, not a {_kind(value)}")
        if value.strip():
            meta[key.lower()] = value.strip()
    return meta


class _Refused(Exception):
    """A construct the loader does not accept (alias, anchor, tag, deep nesting)."""


def _kind(value: object) -> str:
    return {list: "list", dict: "mapping", bytes: "binary value"}.get(type(value), type(value).__name__)


def _loader_class(yaml):  # noqa: ANN001, ANN202 - the lazily imported module; a class built per call
    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader without anchors, aliases or deep nesting; plain scalars are text (or null)."""

        _depth = 0

        def compose_node(self, parent, index):  # noqa: ANN001, ANN202 - PyYAML's signature
            if self.check_event(yaml.AliasEvent):
                raise _Refused("uses YAML anchors/aliases (&name, *name), which can expand without bound")
            event = self.peek_event()
            if getattr(event, "anchor", None) is not None:
                raise _Refused("uses YAML anchors/aliases (&name, *name), which can expand without bound")
            tag = getattr(event, "tag", None)
            if tag not in _PLAIN_TAGS:
                # !!int, !!binary, !!set, !!python/...: constructors with their own failure modes
                # (`!!int ` is an IndexError inside PyYAML), for values that are only ever text here.
                raise _Refused(f"uses the YAML tag {tag[:40]!r}; only plain values are read")
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _Refused(f"nested deeper than {MAX_DEPTH} levels")
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    BoundedLoader.yaml_implicit_resolvers = {
        key: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return BoundedLoader
