"""Children's names as search keys: lower case, accents and punctuation dropped, so that "O'Brien" is found by
"obrien" and a prefix search reads an index range instead of every row."""

from __future__ import annotations

import re
import unicodedata

from peewee import Expression, Field

_NOT_KEY = re.compile(r"[^a-z0-9 ]")


def name_key(text: str) -> str:
    """The words of a name, without accents, punctuation or case, separated by single spaces."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    return " ".join(_NOT_KEY.sub("", plain.replace("-", " ")).split())


def name_keys(text: str) -> tuple[str, str]:
    """The whole name's key, and the last word's (the surname, as most names are written)."""
    key = name_key(text)
    return key, key.rsplit(" ", 1)[-1] if key else ""


def starts_with(field: Field, prefix: str) -> Expression:
    """`field` starts with `prefix` (a key), as a range an index can read on either engine; the LIKE keeps the
    answer exact whatever the database's collation (a locale may sort spaces or digits its own way)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (field >= prefix) & (field < upper) & (field ** f"{prefix}%")
