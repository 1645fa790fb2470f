"""Test-wide setup: make the collection importable as ``ansible_collections.hybrid.cluster``.

The repository root is the collection root. Python can only import it under its collection name
from a directory laid out as ``ansible_collections/hybrid/cluster``, so a symlink with that
layout is kept under ``.build/pytest`` (ignored by git and by the collection build).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS_DIR = ROOT / ".build" / "pytest"
_LINK = COLLECTIONS_DIR / "ansible_collections" / "hybrid" / "cluster"

if not _LINK.is_symlink():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    try:
        _LINK.symlink_to(ROOT, target_is_directory=True)
    except FileExistsError:  # another xdist worker made it first
        pass

if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))

# Nothing in the tests may reach a real cloud: no instance metadata probes, no shared profiles.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
os.environ.pop("AWS_PROFILE", None)
