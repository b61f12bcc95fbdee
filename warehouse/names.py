"""Player keys: ``player_lookup`` normalization and the name variants between sources.

``player_lookup`` (DESIGN.md, "Time semantics") is the normalized name: accents folded
("Jokić" -> "jokic"), lower case, letters and digits only, suffixes kept as letters
("Jaren Jackson Jr." -> "jarenjacksonjr", "Bruce Brown, Jr." -> "brucebrownjr").

The sources spell some players differently, and normalization alone cannot join them
("James Huff" on RealGM is "Jay Huff" on NBA.com and at the sportsbooks). ``ALIASES``
declares every known variant once, against one canonical spelling: NBA.com's, the
league's own, which the Odds API also follows in most cases. ``player_lookup`` maps a
variant to the canonical lookup, so box scores, cross-checks and betting lines all
meet on the same key.

The list was found by joining the 2025-26 files: NBA.com player logs to RealGM rows on
(date, team), pairing names that did not match but played the same games with the same
points, and the Odds API players to the box-score names. Players who appear in only one
source (e.g. RealGM lacks a few fringe players' games) need no alias. When a new
variant shows up (an importer reports unmatched names), add it here.
"""
from __future__ import annotations

import re
import unicodedata

import pandas as pd

# canonical spelling (NBA.com) -> variants seen in other sources (source noted).
ALIASES: dict[str, tuple[str, ...]] = {
    "Adama Bal": ("Adama-Alpha Bal",),                    # RealGM
    "Bruce Brown": ("Bruce Brown, Jr.",),                 # RealGM
    "Bub Carrington": ("Carlton Carrington",),            # Odds API
    "Cam Christie": ("Cameron Christie",),                # RealGM
    "Darius Brown": ("Darius Brown II",),                 # RealGM
    "Derrick Jones Jr.": ("Derrick Jones",),              # RealGM
    "Elijah Harkless": ("E.J. Harkless",),                # RealGM
    "Herbert Jones": ("Herb Jones",),                     # RealGM
    "Isaiah Stewart": ("Isaiah Stewart II",),             # RealGM
    "Jay Huff": ("James Huff",),                          # RealGM
    "Jimmy Butler III": ("Jimmy Butler",),                # Odds API
    "Moritz Wagner": ("Moe Wagner",),                     # RealGM
    "Nate Williams": ("Nate Williams, Jr.",),             # RealGM
    "Nic Claxton": ("Nicolas Claxton",),                  # RealGM
    "Paul Reed": ("Paul Reed, Jr.",),                     # RealGM
    "Robert Williams III": ("Robert Williams",),          # RealGM
    "Ron Harper Jr.": ("Ron Harper",),                    # RealGM (lists him under both names)
    "Ronald Holland II": ("Ron Holland",),                # RealGM
    "Trevon Scott": ("Tre Scott",),                       # RealGM
    "Trey Jemison III": ("Trey Jemison",),                # RealGM
    "Vince Williams Jr.": ("Vincent Williams, Jr.",),     # RealGM
    "Xavier Tillman": ("Xavier Tillman, Sr.",),           # RealGM
}

# Letters that Unicode decomposition does not fold to ASCII.
_FOLD = str.maketrans({"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ß": "ss",
                       "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "þ": "th", "ð": "d"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(name: str) -> str:
    """Lower case, accents folded, letters and digits only (no alias applied)."""
    folded = unicodedata.normalize("NFKD", str(name).translate(_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub("", ascii_only.lower())


def _alias_lookups() -> dict[str, str]:
    out: dict[str, str] = {}
    for canonical, variants in ALIASES.items():
        target = normalize(canonical)
        for variant in variants:
            key = normalize(variant)
            if key == target or out.get(key, target) != target:  # pragma: no cover - declaration bug
                raise ValueError(f"alias {variant!r} -> {canonical!r} is redundant or conflicts")
            out[key] = target
    if set(out) & set(out.values()):  # pragma: no cover - a canonical spelling is also a variant
        raise ValueError(f"alias chains in ALIASES: {sorted(set(out) & set(out.values()))}")
    return out


# normalized variant -> normalized canonical name
ALIAS_LOOKUPS: dict[str, str] = _alias_lookups()


def player_lookup(name: str) -> str:
    """The player key: ``normalize(name)``, with known variants mapped to the canonical one.

    Raises ``ValueError`` for a name with no letter or digit (it cannot be a key).
    """
    key = normalize(name)
    if not key:
        raise ValueError(f"player name {name!r} has no letter or digit; it cannot be a player_lookup")
    return ALIAS_LOOKUPS.get(key, key)


def player_lookups(names: pd.Series) -> pd.Series:
    """Vectorized ``player_lookup`` (computed once per distinct name); NA for empty names."""
    uniques = pd.Series(names.dropna().unique())
    keys = {n: ALIAS_LOOKUPS.get(k, k) or None for n, k in zip(uniques, uniques.map(normalize))}
    return names.map(keys).astype("string")
