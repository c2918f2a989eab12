"""Docs build only (mkdocs.yml loads it into griffe): Sphinx roles in docstrings become cross-references.

The provider's docstrings use Airflow's Sphinx markup (``:class:`BaiduOcrHook```); mkdocstrings renders
Markdown, where a role would show as ``:class:`` before the name. Each role becomes an *optional* autoref:
a link when its target is rendered on the site, plain code otherwise (an undocumented helper never fails the
strict build). A reST ``::`` before a literal block becomes ``:`` (Markdown shows the indented block as code).

Griffe's Sphinx parser also reads a paragraph that follows a field list (``:param x: ...``, a blank line,
"The other parameters are ...") as part of the last field, where Sphinx ends the list; such paragraphs are
moved above the field list.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|mod|func|meth|attr|exc|data|obj):`(~?)([\w.]+)`")
LITERAL_BLOCK = re.compile(r"(?<=\S)::\n\n")
FIELD = re.compile(r":(?:param|type|returns?|rtype|raises?|var|ivar|cvar|yields?)\b")


def _target(scope: griffe.Object, name: str) -> str:
    """The full path of ``name`` as seen from the docstring's object (``Class.method`` too)."""
    head, _, rest = name.partition(".")
    try:
        path = scope.resolve(head)
    except (griffe.NameResolutionError, griffe.AliasResolutionError, ValueError):
        return name
    return f"{path}.{rest}" if rest else path


def _autoref(scope: griffe.Object, match: re.Match[str]) -> str:
    short, name = match.group(1), match.group(2)
    shown = name.rsplit(".", 1)[-1] if short else name
    return f'<autoref identifier="{_target(scope, name)}" optional><code>{shown}</code></autoref>'


def _fields_last(text: str) -> str:
    """Paragraphs after a field list (unindented, not a field) moved above it, as Sphinx would show them."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if FIELD.match(line)), None)
    if first is None:
        return text
    fields: list[str] = []
    after: list[str] = []
    in_field = False
    for line in lines[first:]:
        if FIELD.match(line):
            in_field = True
        elif line.strip() and not line[0].isspace():
            in_field = False
        (fields if in_field else after).append(line)
    if not any(line.strip() for line in after):
        return text
    return "\n".join([*lines[:first], *after, "", *fields]).rstrip("\n")


def rewrite(scope: griffe.Object, text: str) -> str:
    text = ROLE.sub(lambda match: _autoref(scope, match), _fields_last(text))
    return LITERAL_BLOCK.sub(":\n\n", text)


class SphinxRoles(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        stack: list[griffe.Object] = [pkg]
        while stack:
            obj = stack.pop()
            if obj.docstring is not None:
                obj.docstring.value = rewrite(obj, obj.docstring.value)
            stack.extend(member for member in obj.members.values() if not member.is_alias)
