"""Record ids as Salesforce makes them: a 3-character key prefix naming the object, 12 more
case-sensitive base-62 characters, and the 3-character case-safe suffix that makes the
18-character form usable where case is lost (each suffix character encodes which of five
id characters are upper case)."""

from __future__ import annotations

_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Characters 4-5 of a real id name the instance ("pod"); one fixed value here.
_POD = "5g"


def case_safe_suffix(id15: str) -> str:
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def make_id(prefix: str, number: int) -> str:
    """The 18-character id of the ``number``-th record with key prefix ``prefix``."""
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    id15 = prefix + _POD + digits.rjust(10, "0")
    if len(id15) != 15:
        raise ValueError(f"id space of prefix {prefix} exhausted")
    return id15 + case_safe_suffix(id15)


def normalize_id(value: str) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not an id
    (wrong length, a character outside base 62, or an 18-character id whose suffix does not
    match its first 15 characters)."""
    if len(value) not in (15, 18) or not value.isascii() or not value.isalnum():
        return None
    id15 = value[:15]
    suffix = case_safe_suffix(id15)
    if len(value) == 18 and value[15:].upper() != suffix:
        return None
    return id15 + suffix
