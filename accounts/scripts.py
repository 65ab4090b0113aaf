"""Which writing systems a username is written in, so that a look-alike ("аlice" with a
Cyrillic а) cannot pass for another person's name.

The stdlib has no script property: a character's script is the first word of its Unicode
name (LATIN, CYRILLIC, GREEK, CJK, HIRAGANA, HANGUL...), which holds for the letters Django's
username validator lets through. Mixes follow UTS #39's "highly restrictive" level: one
script, or Latin with the scripts Chinese, Japanese or Korean are written in together.
"""

import unicodedata

# Name words that are not a script of their own.
ALIASES = {
    "IDEOGRAPHIC": "CJK",  # 々 〆
    "KATAKANA-HIRAGANA": "KATAKANA",  # ー, the long-vowel mark
    "ARABIC-INDIC": "ARABIC",
    "EXTENDED": "ARABIC",  # EXTENDED ARABIC-INDIC DIGIT, Persian digits
}
ALLOWED_MIXES = [
    {"LATIN", "CJK", "HIRAGANA", "KATAKANA"},
    {"LATIN", "CJK", "BOPOMOFO"},
    {"LATIN", "CJK", "HANGUL"},
]


def script_of(char: str) -> str | None:
    """The script of `char`; None for ASCII digits and signs, and for combining marks (they
    take the script of the letter they sit on)."""
    if char.isascii() and not char.isalpha():
        return None
    if unicodedata.category(char).startswith("M"):
        return None
    word = unicodedata.name(char, "").partition(" ")[0]
    return ALIASES.get(word, word) or None


def mixes_scripts(text: str) -> bool:
    scripts = {script for script in map(script_of, text) if script}
    return len(scripts) > 1 and not any(scripts <= allowed for allowed in ALLOWED_MIXES)
