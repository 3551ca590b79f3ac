"""How names written differently are matched: Turkish case folding to an ASCII key.

Part of the contracts: input headers match their aliases (``schemas.inputs``) and the run form's
provinces match their names (``schemas.provinces``) by this key, and every reader of ``tasks``
matches province, district and sector names by it.
"""

from __future__ import annotations

import functools
import math
import unicodedata

_TR_LOWER = str.maketrans({"I": "ı", "İ": "i"})
_TR_ASCII = str.maketrans({"ı": "i", "ğ": "g", "ü": "u", "ş": "s", "ö": "o", "ç": "c", "â": "a", "î": "i", "û": "u"})


def turkish_lower(text: str) -> str:
    """Lower-case with Turkish rules: ``I`` -> ``ı`` and ``İ`` -> ``i`` (str.lower gets both wrong)."""
    return unicodedata.normalize("NFC", text).translate(_TR_LOWER).lower()


def fold_key(text: object) -> str:
    """A matching key: Turkish lower case, diacritics folded to ASCII, only letters and digits.

    ``K.Maraş``, ``KAHRAMANMARAŞ`` and `` kahramanmaras `` give ``kmaras`` / ``kahramanmaras``;
    ``Çalışan  Sayısı`` gives ``calisansayisi``. None and NaN (a blank cell) give ``""``.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    return _folded(text if isinstance(text, str) else str(text))


@functools.lru_cache(maxsize=1 << 16)
def _folded(text: str) -> str:
    """``fold_key`` of text, kept for the next time it is asked: every file of a source folds
    the same province names, flags and headers (10 us each)."""
    folded = turkish_lower(text).translate(_TR_ASCII)
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if ch.isalnum() and ord(ch) < 128)
