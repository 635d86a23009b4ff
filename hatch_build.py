"""Wheel build hook: compile the translation catalogues (.po -> .mo) into the wheel.

The compiled catalogues are never committed (git ignores *.mo), so without this hook a wheel
built from a clean checkout served English text under <html lang="fr-CA">.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CATALOGUES = Path("portal") / "translations"


class CatalogueBuildHook(BuildHookInterface):
    """Adds portal/translations/<locale>/LC_MESSAGES/messages.mo for every .po to the wheel."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install reads the .mo files `make` compiles in the checkout
        self._compiled = tempfile.TemporaryDirectory(prefix="portal-catalogues-")
        root = Path(self.root)
        for po_path in sorted((root / CATALOGUES).glob("*/LC_MESSAGES/*.po")):
            relative = po_path.relative_to(root).with_suffix(".mo")
            mo_path = Path(self._compiled.name) / relative
            mo_path.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file, locale=po_path.parent.parent.name)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue)
            build_data["force_include"][str(mo_path)] = relative.as_posix()

    def finalize(self, version: str, build_data: dict, artifact_path: str) -> None:
        compiled = getattr(self, "_compiled", None)
        if compiled is not None:
            compiled.cleanup()
