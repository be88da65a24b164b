"""Sphinx directives that read the installed toolkit, so the docs follow the code.

``toolkit-components``: every registered component (name, kind, plugin, summary
and parameters), read from the registry when the docs are built: a renamed or
new component appears without anyone editing a page.
"""

from __future__ import annotations

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


def _cell(text: str) -> str:
    """Plain text for a reST cell: one line, markup characters escaped (descriptions are not reST)."""
    text = " ".join(str(text).split())
    return "".join("\\" + c if c in "\\*`|_<>[]" else c for c in text)


def _literal(text: str) -> str:
    """Text for an inline literal (``...``): one line, backquotes replaced."""
    return " ".join(str(text).split()).replace("`", "'") or "-"


def component_reference() -> list[str]:
    """reStructuredText: one section per kind, one entry per component with its parameters."""
    from toolkit.core import get_registry
    from toolkit.core.component import KINDS

    registry = get_registry()
    lines: list[str] = []
    for kind in KINDS:
        entries = registry.of_kind(kind)
        title = f"{kind.capitalize()}s" if kind != "catalog" else "Catalogues"
        lines += [title, "-" * len(title), ""]
        for entry in entries:
            cls = entry.cls
            lines += [f".. rubric:: ``{cls.name}``", "", f"{_cell(cls.summary)} *(plugin* ``{entry.plugin}``\\ *)*", ""]
            fields = cls.Config.model_fields
            if fields:
                lines += [".. list-table::", "   :header-rows: 1", "   :widths: 20 20 20 40", "",
                          "   * - parameter", "     - type", "     - default", "     - description"]
                for name, f in fields.items():
                    default = "(required)" if f.is_required() else repr(f.get_default(call_default_factory=True))
                    annotation = getattr(f.annotation, "__name__", None) or str(f.annotation).replace("typing.", "")
                    lines += [f"   * - ``{name}``", f"     - ``{_literal(annotation)}``", f"     - ``{_literal(default)}``",
                              f"     - {_cell(f.description or '') or '-'}"]
                lines.append("")
    return lines


class ComponentsDirective(Directive):
    has_content = False

    def run(self):
        container = nodes.section()
        container.document = self.state.document
        self.state.nested_parse(StringList(component_reference(), "<toolkit registry>"), self.content_offset,
                                container, match_titles=True)
        return container.children


def setup(app):
    app.add_directive("toolkit-components", ComponentsDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
