"""Pages generated from the installed toolkit when the docs are built, so the docs follow the code.

``_generated/components.md``: every registered component (name, kind, plugin,
summary and parameters), read from the registry at build time and included by
``reference/components.md``: a renamed or new component appears without anyone
editing a page. The folder is a build product (git ignores it).
"""

from __future__ import annotations

from pathlib import Path

GENERATED = Path(__file__).resolve().parents[1] / "_generated"


def _text(value) -> str:
    """Plain text for a Markdown table cell: one line, markup characters escaped."""
    text = " ".join(str(value).split())
    return "".join("\\" + c if c in "\\*_`|<>[]#" else c for c in text) or "-"


def _code(value) -> str:
    """Inline code for a table cell (backquotes and pipes cannot appear inside it)."""
    text = " ".join(str(value).split()).replace("`", "'").replace("|", "\\|")   # GFM tables: \| in code
    return f"`{text}`" if text else "-"


def component_reference() -> str:
    """Markdown: a section per kind, a subsection per component with its parameters."""
    from toolkit.core import get_registry
    from toolkit.core.component import KINDS

    registry = get_registry()
    out: list[str] = []
    for kind in KINDS:
        out += [f"## {'Catalogues' if kind == 'catalog' else kind.capitalize() + 's'}", ""]
        for entry in registry.of_kind(kind):
            cls = entry.cls
            out += [f"### `{cls.name}`", "", f"{_text(cls.summary)} (plugin {_code(entry.plugin)})", ""]
            if getattr(cls, "citation", ""):
                out += [f"Citation: {_text(cls.citation)}", ""]
            fields = cls.Config.model_fields
            if not fields:
                out += ["No parameters.", ""]
                continue
            out += ["| parameter | type | default | description |", "|---|---|---|---|"]
            for name, f in fields.items():
                default = "(required)" if f.is_required() else repr(f.get_default(call_default_factory=True))
                annotation = (str(f.annotation).replace("typing.", "") if getattr(f.annotation, "__args__", None)
                              else getattr(f.annotation, "__name__", str(f.annotation)))
                out.append(f"| {_code(name)} | {_code(annotation)} | {_code(default)} | {_text(f.description or '')} |")
            out.append("")
    return "\n".join(out) + "\n"


def write_generated(app=None) -> None:
    GENERATED.mkdir(exist_ok=True)
    path = GENERATED / "components.md"
    text = component_reference()
    if not path.is_file() or path.read_text(encoding="utf-8") != text:   # unchanged: no rebuild
        path.write_text(text, encoding="utf-8")


def setup(app):
    app.connect("builder-inited", write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
