"""The version of the engine that a stored walk state was derived with.

A stored state is resumed only by the engine that made it; any other derives the patient
afresh from its archive. A hand-kept version string was bumped by hand and could be
forgotten, and a forgotten bump resumes states under rules they were not made with. So
the version is derived: a digest of the package's version and of the source of every
module whose results a state holds (the domain, the FHIR readers and assembly, the
mapping loaders and sync's own steps). A change of any of them, a comment included,
derives every patient afresh once: slower, never wrong.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from importlib import metadata, resources
from importlib.resources.abc import Traversable

# The packages and modules whose code decides what a stored state holds.
ENGINE_PACKAGES = ("adapter.domain", "adapter.fhir", "adapter.mappings")
ENGINE_MODULES = ("sync_plan.py", "sync_state.py", "sync_walk.py", "sync_keep.py")
_DISTRIBUTION = "substreg-adapter"


@cache
def engine_version() -> str:
    """The engine's version (computed once per process)."""
    services = resources.files("adapter.services")
    sources = [*(resources.files(p) for p in ENGINE_PACKAGES)]
    modules = [services / name for name in ENGINE_MODULES]
    return sources_digest(_package_version(), sources, modules)


def sources_digest(
    version: str, packages: Iterable[Traversable], modules: Iterable[Traversable]
) -> str:
    """A digest of `version` and of every .py file under `packages` and of `modules`,
    by relative name and content, in a fixed order."""
    digest = hashlib.sha256(f"substreg-engine|{version}".encode())
    files = [
        (f"{package.name}/{name}", item)
        for package in packages
        for name, item in _py_files(package)
    ]
    files += [(item.name, item) for item in modules]
    for name, item in sorted(files, key=lambda pair: pair[0]):
        content = item.read_bytes()
        digest.update(f"|{name}|{len(content)}|".encode())
        digest.update(content)
    return digest.hexdigest()[:16]


def _py_files(folder: Traversable, prefix: str = "") -> Iterable[tuple[str, Traversable]]:
    for item in folder.iterdir():
        if item.is_dir():
            if item.name != "__pycache__":
                yield from _py_files(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".py"):
            yield f"{prefix}{item.name}", item


def _package_version() -> str:
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return "source"
