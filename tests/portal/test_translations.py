"""French is complete: every message translated, catalogues current and compiled."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.processes import child_env

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def entries(po: polib.POFile) -> dict[str, object]:
    return {
        e.msgid: (e.msgstr_plural and dict(e.msgstr_plural)) or e.msgstr
        for e in po
        if not e.obsolete
    }


def test_every_message_is_translated_to_french():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


def test_french_pages_keep_their_punctuation_on_the_line():
    """A no-break space before : ? ! ; and inside « » (French typography), so a
    "?" never starts a line on its own. Only in strings of the HTML pages: a
    text message built in Python would turn into UCS-2 (fewer characters a
    segment) for one U+202F."""
    po = polib.pofile(str(PO))
    loose = re.compile(r" [?!;]| :(\s|$|<)|« | »")
    bad = [
        e.msgstr
        for e in po
        if e.occurrences
        and all(path.endswith(".html") for path, _line in e.occurrences)
        and loose.search(e.msgstr)
    ]
    assert not bad, bad


def test_compiled_catalogue_matches_the_source():
    compiled = entries(polib.mofile(str(MO)))
    source = entries(polib.pofile(str(PO)))
    assert compiled == source, "run `make messages` to recompile locale/fr"


@pytest.mark.skipif(not shutil.which("xgettext"), reason="needs GNU gettext")
def test_catalogue_has_every_message_in_the_code(tmp_path):
    """Extract again; the catalogue must already hold every message."""
    before = PO.read_bytes()
    try:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "makemessages",
                "-l",
                "fr",
                "--no-obsolete",
                "--ignore=.venv",
                "--ignore=tests",
                "--ignore=staticfiles",
                "--ignore=var",
            ],
            cwd=ROOT,
            env=child_env(DEBUG="1"),
            check=True,
            capture_output=True,
            timeout=120,
        )
        extracted = {e.msgid for e in polib.pofile(str(PO)) if not e.obsolete}
    finally:
        PO.write_bytes(before)
    committed = {e.msgid for e in polib.pofile(str(PO)) if not e.obsolete}
    assert extracted - committed == set(), "new messages: run `make messages` and translate"
    assert committed - extracted == set(), "stale messages: run `make messages`"
