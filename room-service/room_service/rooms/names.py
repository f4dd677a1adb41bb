"""Room names as people read them: two names that look the same are the same name."""

from __future__ import annotations

import unicodedata

# Default-ignorable characters outside the format category: variation selectors, the combining grapheme
# joiner, Hangul fillers, Mongolian free variation selectors. They render as nothing.
_IGNORABLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
)
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")  # letters, digits, punctuation, symbols


def _invisible(char: str) -> bool:
    return unicodedata.category(char) in ("Cf", "Cc") or ord(char) in _IGNORABLE


def name_key(name: str) -> str:
    """The form names are compared in: compatibility-normalized (NFKC: full-width letters, ligatures),
    without invisible characters (zero-width spaces, bidi marks, variation selectors), whitespace runs as
    one space, case-folded."""
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    text = "".join(char for char in text if not _invisible(char)).strip()
    return unicodedata.normalize("NFKC", " ".join(text.casefold().split()))


def has_visible_character(name: str) -> bool:
    return any(unicodedata.category(char)[0] in _VISIBLE_CATEGORIES and not _invisible(char) for char in name)
