"""Recipes: YAML pipelines, validated completely before any work starts.

A recipe names a source, cuts, features, detectors, validators and output
options. Each step is ``use: <component>`` plus ``with: {params}`` (and an
optional ``name``). Errors point into the file: path, line, key, what was
expected, and the nearest valid name.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .component import Component
from .errors import RecipeError
from .io import is_file
from .paths import BASE_DIR, CLI_FIELDS, missing_path
from .registry import Registry

STAGES = ("cuts", "features", "detectors", "validators")
STAGE_KIND = {"source": "source", "cuts": "cut", "features": "feature",
              "detectors": "detector", "validators": "validator"}


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    use: str
    name: str | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    #: sources only: used (and announced) when ``use`` raises SourceUnavailable
    fallback: "StepSpec | None" = None
    #: cuts only: apply after the features (for cuts on derived columns)
    after_features: bool = False


class OutputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    formats: list[Literal["fits", "votable", "csv"]] = Field(
        default_factory=list, description="candidate table formats besides Parquet")
    write_rejected: bool = Field(False, description="also write rejected.parquet with the cut that removed each row")
    figures: bool = True
    format: Literal["parquet", "hats"] = Field(
        "parquet", description="hats: the scored rows also as a HATS catalogue, scored.hats/, that LSDB opens "
        "(partitioned by the rows' ra and dec; needs the [dask] extra)")
    columns: list[str] | None = Field(
        None, description="columns the scored table keeps besides ids, scores and flags (null: every column); "
        "a survey-size streamed run keeps a few and writes gigabytes, not tens")


class ExecutorSpec(BaseModel):
    """Where chunks live: ``memory`` (one chunk, the default), ``stream`` (chunks read, spilled, scored) or
    ``dask`` (partitions on a dask.distributed cluster, ``core/dask_executor.py``)."""

    model_config = ConfigDict(extra="forbid")
    use: Literal["memory", "stream", "dask"] = Field(
        "memory", description="memory: the whole table at once; stream: the source read in chunks, for tables "
        "larger than memory; dask: partitions processed on a dask.distributed cluster (pip install 'toolkit[dask]')")
    chunk_rows: int = Field(250_000, ge=1, description="rows per chunk when streaming")
    max_train_rows: int = Field(1_000_000, ge=2, description="streamed runs: cap of the seeded training sample for "
                                "detectors that set no max_train_rows of their own")
    validation_rows: int = Field(200_000, ge=1, description="streamed runs: rows of the seeded sample (besides "
                                 "the flagged rows) that validators and figures see")
    workers: int = Field(2, ge=1, description="dask: worker processes of the local cluster (one thread each)")
    memory_per_worker: str | None = Field("auto", description="dask: memory limit of each local worker, e.g. 2GB "
                                          "('auto': the machine's memory shared between the workers)")
    scheduler: str | None = Field(None, description="dask: address of an existing scheduler (tcp://host:8786) "
                                  "instead of a local cluster; its workers must see the run folder's file system")
    connect_timeout_s: float = Field(10.0, gt=0, le=600, description="dask: how long to try to reach the scheduler")


#: a recipe name becomes a folder name under runs/: no separators, no leading dot, no "..".
RECIPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")


class RecipeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str

    @field_validator("name")
    @classmethod
    def _plain_folder_name(cls, value: str) -> str:
        if not RECIPE_NAME.match(value) or ".." in value:
            raise ValueError("a recipe name is a plain folder name: letters, digits, '.', '_', '+', '-', "
                             "at most 100 characters, starting with a letter or digit (no '/', no '..')")
        return value
    description: str = ""
    seed: int = 0
    source: StepSpec
    cuts: list[StepSpec] = Field(default_factory=list)
    features: list[StepSpec] = Field(default_factory=list)
    detectors: list[StepSpec] = Field(default_factory=list)
    validators: list[StepSpec] = Field(default_factory=list)
    output: OutputSpec = Field(default_factory=OutputSpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)


@dataclass
class Step:
    """A validated step: its component instance and where it came from."""

    stage: str
    index: int | None
    name: str
    component: Component
    fallback: "Step | None" = None
    after_features: bool = False

    @property
    def where(self) -> str:
        return self.stage if self.index is None else f"{self.stage}.{self.index}"


@dataclass
class Recipe:
    spec: RecipeSpec
    path: Path | None
    raw: dict
    source: Step
    steps: dict[str, list[Step]] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def seed(self) -> int:
        return self.spec.seed

    def resolved(self) -> dict:
        """The recipe with every component's defaults filled in (for the run folder)."""
        def dump(step: Step) -> dict:
            d = {"use": step.component.name, "name": step.name,
                 "with": step.component.config.model_dump(mode="json")}
            if step.after_features:
                d["after_features"] = True
            if step.fallback:
                d["fallback"] = dump(step.fallback)
            return d
        out = {"name": self.spec.name, "description": self.spec.description, "seed": self.spec.seed,
               "source": dump(self.source)}
        for stage in STAGES:
            out[stage] = [dump(s) for s in self.steps[stage]]
        out["output"] = self.spec.output.model_dump(mode="json")
        out["executor"] = self.spec.executor.model_dump(mode="json")
        return out


# -- YAML with line numbers, bounded --------------------------------------------------------

#: a recipe is a few kilobytes; these bounds stop a hostile file (an alias "billion laughs",
#: a huge or binary file) before it costs memory or time
MAX_RECIPE_BYTES = 1 << 20
MAX_RECIPE_NODES = 100_000
MAX_RECIPE_DEPTH = 100


def _mark(node: yaml.Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _check_tree(node: yaml.Node, label: str) -> None:
    """Bound the document's expanded size and depth (aliases count every time they are used),
    refuse recursive aliases and duplicate keys. Each distinct node is visited once."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(n: yaml.Node, depth: int) -> int:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise RecipeError(f"{label}:{_mark(n)}: a YAML alias refers to the node that contains it "
                              "(a recursive structure is not a recipe)")
        if depth > MAX_RECIPE_DEPTH:
            raise RecipeError(f"{label}:{_mark(n)}: the recipe nests deeper than {MAX_RECIPE_DEPTH} levels")
        active.add(key)
        total = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict = {}
            for k, v in n.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen and k.value != "<<":
                        raise RecipeError(f"{label}:{_mark(k)}: duplicate key '{k.value}' (first at line "
                                          f"{seen[k.value]}); YAML would silently keep only the last one")
                    seen.setdefault(k.value, k.start_mark.line + 1)
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_RECIPE_NODES:
                    break
        elif isinstance(n, yaml.SequenceNode):
            for item in n.value:
                total += size(item, depth + 1)
                if total > MAX_RECIPE_NODES:
                    break
        active.discard(key)
        if total > MAX_RECIPE_NODES:
            raise RecipeError(f"{label}:{_mark(n)}: the recipe expands to more than {MAX_RECIPE_NODES:,} "
                              "values (YAML aliases repeated inside aliases?); a recipe is a short file")
        sizes[key] = total
        return total

    size(node, 0)


def _decode(data: bytes, label: str) -> str:
    """Recipe bytes as text: UTF-8, no NUL bytes; errors name line and column."""
    if len(data) > MAX_RECIPE_BYTES:
        raise RecipeError(f"{label}: {len(data):,} bytes is too large for a recipe (at most "
                          f"{MAX_RECIPE_BYTES:,}); is this the right file?")
    if b"\0" in data:
        pos = data.index(b"\0")
        line = data.count(b"\n", 0, pos) + 1
        col = pos - (data.rfind(b"\n", 0, pos) + 1) + 1
        raise RecipeError(f"{label}:{line}:{col}: NUL byte in the recipe; a recipe is a UTF-8 text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise RecipeError(f"{label}:{line}:{col}: the recipe is not valid UTF-8 text (byte "
                          f"{data[exc.start:exc.start + 1]!r})") from None


def parse_yaml(text: str, label: str) -> tuple[Any, yaml.Node | None]:
    """Safe YAML -> (data, node tree), checked for size, depth, recursion and duplicate keys."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:   # a control character: the reader refuses the text at once
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise RecipeError(f"{label}:{line}:{col}: character {exc.character!r} is not allowed in YAML "
                          "(a recipe is plain text)") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_tree(node, label)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        raise RecipeError(f"{where}: YAML syntax error: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"{label}: YAML error: {exc}") from None
    except RecursionError:
        raise RecipeError(f"{label}: the recipe nests too deeply to read") from None
    finally:
        loader.dispose()


def _positions(node: yaml.Node, path: tuple = (), out: dict | None = None) -> dict:
    """Map each key path in the document to its (line, column), 1-based (bounded by _check_tree)."""
    out = {} if out is None else out
    out.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            p = path + (key.value,)
            out[p] = (key.start_mark.line + 1, key.start_mark.column + 1)
            _positions(value, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _positions(item, path + (i,), out)
    return out


class _Locator:
    def __init__(self, label: str, positions: dict, overridden: set[tuple]) -> None:
        self.label, self.positions, self.overridden = label, positions, overridden

    def at(self, path: tuple) -> str:
        path = tuple(path)
        for i in range(len(path), -1, -1):
            if path[:i] in self.overridden:
                return f"{self.label} (value from --set {'.'.join(map(str, path[:i]))})"
            if path[:i] in self.positions:
                line, col = self.positions[path[:i]]
                return f"{self.label}:{line}:{col}"
        return self.label

    def error(self, path: tuple, message: str) -> RecipeError:
        key = ".".join(str(p) for p in path)
        return RecipeError(f"{self.at(path)}: {key + ': ' if key else ''}{message}")


def builtin_recipes() -> dict[str, Path]:
    """Built-in recipe name -> file (shipped as package data in toolkit.recipes)."""
    folder = resources.files("toolkit.recipes")
    return {p.name[:-5]: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def find_recipe(ref: str | Path) -> Path:
    path = Path(ref)
    if is_file(path):
        return path
    known = builtin_recipes()
    stem = path.name[:-5] if path.name.endswith(".yaml") else path.name
    if not is_file(path) and stem in known and (path.parent == Path(".") or path.parent.name == "recipes"):
        return known[stem]
    near = difflib.get_close_matches(stem[:200], list(known), n=3)
    hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    shown = str(ref) if len(str(ref)) <= 200 else str(ref)[:200] + "..."
    raise RecipeError(f"{missing_path(shown, 'recipe file')}.{hint} Built-in recipes: {', '.join(sorted(known))}")


def _parse_value(text: str, key: str) -> Any:
    """A --set value as YAML (bounded like a recipe); text that is not YAML stays text."""
    if "\0" in text:
        raise RecipeError(f"--set {key}: NUL byte in the value")
    try:
        return parse_yaml(text, f"--set {key}")[0]
    except RecipeError as exc:
        if "YAML syntax error" in str(exc):
            return text
        raise


def apply_override(raw: dict, assignment: str) -> tuple:
    """Apply ``a.b.0.c=VALUE`` (VALUE parsed as YAML) to the raw recipe; return the path."""
    if "=" not in assignment:
        raise RecipeError(f"--set {assignment!r}: expected KEY=VALUE, e.g. detectors.0.with.epochs=5")
    key, value = assignment.split("=", 1)
    parts: list[Any] = [int(p) if re.fullmatch(r"-?[0-9]+", p) else p for p in key.strip().split(".")]
    if any(p == "" for p in parts):
        raise RecipeError(f"--set {assignment!r}: the key has an empty part; expected e.g. detectors.0.with.epochs=5")
    node: Any = raw
    for i, part in enumerate(parts[:-1]):
        nxt = parts[i + 1]
        if not isinstance(node, (dict, list)):
            raise RecipeError(f"--set {key}: '{'.'.join(map(str, parts[:i]))}' is a value "
                              f"({node!r}), not a mapping or list, so it has no '{part}'")
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise RecipeError(f"--set {key}: '{'.'.join(map(str, parts[:i]))}' has {len(node)} steps; "
                                  f"index {part} is out of range")
            node = node[part]
        else:
            if part not in node or node[part] is None:
                node[part] = [] if isinstance(nxt, int) else {}
            node = node[part]
    last = parts[-1]
    if not isinstance(node, (dict, list)):
        raise RecipeError(f"--set {key}: '{'.'.join(map(str, parts[:-1]))}' is a value ({node!r}), "
                          f"not a mapping or list, so it has no '{last}'")
    if isinstance(node, list):
        if last == len(node):
            node.append(_parse_value(value, key))
        elif isinstance(last, int) and -len(node) <= last < len(node):
            node[last] = _parse_value(value, key)
        else:
            raise RecipeError(f"--set {key}: index {last} is out of range (0..{len(node)})")
    else:
        node[last] = _parse_value(value, key)
    return tuple(parts)


def load_recipe(ref: str | Path, registry: Registry, overrides: list[str] = (),
                seed: int | None = None) -> Recipe:
    """Read, override and validate a recipe; build every component (no work done yet)."""
    path = find_recipe(ref)
    label = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"{label}: cannot read the recipe: {exc.strerror or exc}") from None
    raw, node = parse_yaml(_decode(data, label), label)
    if not isinstance(raw, dict):
        raise RecipeError(f"{label}: a recipe is a YAML mapping with name, source, cuts, ...; got {type(raw).__name__}")
    positions = _positions(node) if node is not None else {}
    overridden = set()
    for assignment in overrides:
        overridden.add(apply_override(raw, assignment))
    if seed is not None:
        raw["seed"] = seed
        overridden.add(("seed",))
    loc = _Locator(label, positions, overridden)
    base_dir = Path(path).absolute().parent

    def path_context(where: tuple) -> dict:
        """Where a step's relative paths resolve (toolkit.core.paths): the recipe's folder, or the
        working directory for what --set wrote (the whole step, or the named fields)."""
        if any(o == where[:len(o)] for o in overridden):
            return {BASE_DIR: Path.cwd()}
        fields = {str(p) for o in overridden if o[:len(where)] == where and len(o) > len(where)
                  for p in (o[len(where)], o[-1])}
        return {BASE_DIR: base_dir, CLI_FIELDS: fields}

    try:
        spec = RecipeSpec.model_validate(copy.deepcopy(raw))
    except ValidationError as exc:
        raise _pydantic_error(exc, loc, (), RecipeSpec) from None

    def build(stage: str, index: int | None, s: StepSpec, path: tuple, kind: str, shared: dict | None = None) -> Step:
        try:
            entry = registry.get(s.use, kind)
        except RecipeError as exc:
            raise loc.error(path + ("use",), str(exc)) from None
        params = s.with_
        for key, value in (shared or {}).items():   # what a source hands its fallback
            if key not in entry.cls.Config.model_fields:
                continue
            if key in (params or {}) and params[key] != value:
                raise loc.error(path + ("with", key), f"{entry.name}: {key} {params[key]!r} differs from the "
                                                      f"source's {value!r}; leave it out to take the source's")
            params = {**(params or {}), key: value}
        try:
            config = entry.cls.Config.model_validate(params, context=path_context(path + ("with",)))
        except ValidationError as exc:
            raise _pydantic_error(exc, loc, path + ("with",), entry.cls.Config, entry.name) from None
        try:
            component = entry.cls(config)
        except Exception as exc:  # a component rejecting a combination of values
            raise loc.error(path + ("with",), f"{entry.name}: {exc}") from None
        fb = None
        if s.fallback is not None:
            if kind != "source":
                raise loc.error(path + ("fallback",), "only a source may declare a fallback")
            fb = build(stage, index, s.fallback, path + ("fallback",), kind, component.shared_with_fallback())
        if s.after_features and kind != "cut":
            raise loc.error(path + ("after_features",), "only a cut may run after the features")
        name = s.name or s.use.split(".")[-1]
        return Step(stage, index, name, component, fb, s.after_features)

    source = build("source", None, spec.source, ("source",), "source")
    steps = {}
    for stage in STAGES:
        steps[stage] = [build(stage, i, s, (stage, i), STAGE_KIND[stage])
                        for i, s in enumerate(getattr(spec, stage))]
        seen: dict[str, int] = {}
        for st in steps[stage]:
            if st.name in seen:
                raise loc.error((stage, st.index, "name"),
                                f"two {stage} steps are both named '{st.name}' (steps {seen[st.name]} and "
                                f"{st.index}); give one a distinct `name:`")
            seen[st.name] = st.index
    return Recipe(spec, path, raw, source, steps, list(overrides) + ([f"seed={seed}"] if seed is not None else []))


def _pydantic_error(exc: ValidationError, loc: _Locator, prefix: tuple, model, component: str = "") -> RecipeError:
    lines = []
    fields = list(getattr(model, "model_fields", {}))
    for err in exc.errors():
        path = prefix + tuple(p for p in err["loc"] if p != "with_")
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            bad = err["loc"][-1]
            near = difflib.get_close_matches(str(bad), fields, n=3) if len(err["loc"]) == 1 else []
            msg = f"unknown parameter '{bad}'" + (f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else "")
            if component:
                msg += f"; {component} takes: {', '.join(fields) or 'no parameters'}"
        elif err["type"] == "missing":
            msg = "required parameter is missing" + (f" for {component}" if component else "")
        elif "input" in err:
            got = repr(err["input"])
            msg = f"{msg} (got {got if len(got) <= 100 else got[:100] + '...'})"
        lines.append(str(loc.error(path, msg)))
    return RecipeError("\n".join(lines))
