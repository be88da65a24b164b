"""Named mwdust maps, the files each needs, and loading them without touching the network.

mwdust reads its map folder once, when it is first imported: ``$DUST_DIR`` or ``~/.mwdust``
(``mwdust.util.download.dust_dir``). Every map then downloads its files on construction
when they are missing, with no timeout. Here the files are checked first: a missing file
is a StageError naming it and how to get it, and while a map is constructed mwdust's
downloader is replaced by one that raises, so no map can reach for the network.

To get the files on a networked machine::

    DUST_DIR=/path/to/dust python -c "import mwdust; mwdust.SFD()"   # or Combined19(), ...

then copy the folder to this machine and point ``dust_dir`` (or ``$DUST_DIR``) at it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from toolkit.core import RecipeError, StageError

#: map name -> files relative to the dust folder ("pkg:" = inside mwdust's package folder)
MAP_FILES: dict[str, list[str]] = {
    "Zero": [],
    "SFD": ["maps/SFD_dust_4096_ngp.fits", "maps/SFD_dust_4096_sgp.fits"],
    "Marshall06": ["marshall06/table1.dat", "marshall06/ReadMe"],
    "Drimmel03": ["pkg:util/drimmeldata/data-for.tar.gz"],
    "Sale14": ["sale14/Amap.dat", "sale14/ReadMe"],
    "Green15": ["green15/dust-map-3d.h5"],
    "Green17": ["green17/bayestar2017.h5"],
    "Green19": ["green19/bayestar2019.h5"],
    "Combined15": ["combined15/dust-map-3d.h5"],
    "Combined19": ["combined19/combine19.h5"],
}
#: maps without a distance dependence (the distance column is not needed)
MAPS_2D = {"Zero", "SFD"}
#: maps whose evaluation takes arrays of l, b, d (the others are called star by star)
VECTORISED = {"Zero", "SFD", "Green15", "Green17", "Green19", "Combined15", "Combined19"}

_loaded: dict[tuple[str, str], object] = {}


def default_dust_dir() -> Path:
    return Path(os.environ.get("DUST_DIR") or Path.home() / ".mwdust")


def _mwdust_package_dir() -> Path | None:
    spec = importlib.util.find_spec("mwdust")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def missing_files(map_name: str, dust_dir: Path) -> list[Path]:
    """Files the map needs that are not there (checked without importing mwdust)."""
    if map_name not in MAP_FILES:
        raise RecipeError(f"unknown mwdust map '{map_name}'; known: {', '.join(MAP_FILES)}")
    out = []
    for rel in MAP_FILES[map_name]:
        if rel.startswith("pkg:"):
            pkg = _mwdust_package_dir()
            path = (pkg / rel[4:]) if pkg else Path("<mwdust not installed>") / rel[4:]
        else:
            path = dust_dir / rel
        if not path.is_file():
            out.append(path)
    return out


def how_to_get(map_name: str, dust_dir: Path) -> str:
    return (f"Download it on a networked machine with "
            f"`DUST_DIR={dust_dir} python -c \"import mwdust; mwdust.{map_name}()\"` and copy the folder here, "
            f"or copy the files into {dust_dir} (set the feature's `dust_dir` or $DUST_DIR before the run). "
            f"Offline alternatives: map `Zero`, or `symbiotic.extinction_column` with the catalogue's E(B-V).")


@contextmanager
def _no_downloads(module_names):
    """Replace mwdust's downloader in the given modules by one that raises."""
    def refuse(url, fullfilename, name, test=False):
        raise StageError(f"mwdust tried to download {name} from {url} into {fullfilename}; "
                         "this toolkit never lets mwdust reach for the network. Place the file there yourself.")

    saved = []
    for mod_name in module_names:
        mod = sys.modules.get(mod_name)
        if mod is not None and hasattr(mod, "downloader"):
            saved.append((mod, mod.downloader))
            mod.downloader = refuse
    try:
        yield
    finally:
        for mod, original in saved:
            mod.downloader = original


def _import_mwdust(dust_dir: Path, strict: bool = True):
    """Import mwdust with DUST_DIR = dust_dir; refuse if it was already imported with another folder.

    ``strict=False`` (maps without files, i.e. Zero): any folder will do.
    """
    if "mwdust" in sys.modules and not strict:
        return sys.modules["mwdust"]
    if not strict and not dust_dir.is_dir():
        import mwdust  # mwdust creates its default folder, as it always does
        return mwdust
    if "mwdust" in sys.modules:
        current = Path(sys.modules["mwdust.util.download"].dust_dir)
        if current.resolve() != dust_dir.resolve():
            raise StageError(f"mwdust was already imported with DUST_DIR={current}; it reads the folder only once, "
                             f"at import, so {dust_dir} cannot be used in this process. Set $DUST_DIR={dust_dir} "
                             "before starting the toolkit (or use the same dust_dir for every step).")
        return sys.modules["mwdust"]
    previous = os.environ.get("DUST_DIR")
    os.environ["DUST_DIR"] = str(dust_dir)
    try:
        import mwdust
    finally:
        if previous is None:
            os.environ.pop("DUST_DIR", None)
        else:
            os.environ["DUST_DIR"] = previous
    return mwdust


def load_map(map_name: str, dust_dir: Path | None = None):
    """The mwdust map object (E(B-V) per (l, b, d/kpc)), cached per (map, folder)."""
    dust_dir = Path(dust_dir).expanduser() if dust_dir else default_dust_dir()
    key = (map_name, str(dust_dir))
    if key in _loaded:
        return _loaded[key]
    missing = missing_files(map_name, dust_dir)
    if missing:
        raise StageError(f"mwdust map '{map_name}' needs {', '.join(str(p) for p in missing)}, which "
                         f"{'is' if len(missing) == 1 else 'are'} missing. " + how_to_get(map_name, dust_dir))
    mwdust = _import_mwdust(dust_dir, strict=bool(MAP_FILES[map_name]))
    with _no_downloads([f"mwdust.{map_name}", "mwdust.util.download"]):
        dust_map = getattr(mwdust, map_name)()
    _loaded[key] = dust_map
    return dust_map
