"""Per-install choices drawn from HONEYPODS_PERSONA_SEED: the same seed always gives the same ones.

Each choice has its own label, so adding a choice never changes the others; the derivation is
HMAC-SHA256 keyed with the seed, expanded in counter mode when more than 32 bytes are asked for.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def derive(seed: str, label: str, size: int = 32) -> bytes:
    """``size`` bytes that depend only on the seed and the label."""
    out = b""
    counter = 0
    while len(out) < size:
        block = label.encode() + b"\0" + counter.to_bytes(4, "big")
        out += hmac.new(seed.encode(), block, hashlib.sha256).digest()
        counter += 1
    return out[:size]


def choose(seed: str, label: str, options: Sequence[T]) -> T:
    """One of ``options``, the same for the same seed and label."""
    if not options:
        raise ValueError("choose: no options")
    return options[int.from_bytes(derive(seed, label, 8), "big") % len(options)]


def moment(
    seed: str, label: str, earliest: datetime.datetime, span: datetime.timedelta
) -> datetime.datetime:
    """A time in ``[earliest, earliest + span)``, to the second, the same for the same seed and
    label: when an install "made" something that a client can date (a certificate's notBefore)."""
    seconds = int(span.total_seconds())
    offset = int.from_bytes(derive(seed, label, 8), "big") % max(seconds, 1)
    return earliest + datetime.timedelta(seconds=offset)
