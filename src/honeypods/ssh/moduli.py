"""sshd's Diffie-Hellman group exchange: its moduli file and how it picks a group. Sans-IO.

OpenSSH (``kexgexs.c`` and ``dh.c``, unchanged from 8.4 to 9.x) answers a client's
``SSH_MSG_KEX_DH_GEX_REQUEST (min, n, max)`` like this:

1. The client's numbers must be ordered, ``min <= n <= max``, and ``max`` at least 2048
   (``DH_GRP_MIN``); otherwise sshd ends the connection ("DH GEX group out of range") without a
   DISCONNECT.
2. It clamps them to 2048..8192 (``DH_GRP_MIN``, ``DH_GRP_MAX``) and walks its moduli file in
   order: of the groups whose size lies in ``[min, max]``, the size chosen is the smallest one not
   below ``n``, or the largest one below it when there is none (``choose_dh``); it then picks one
   of the groups of that size uniformly at random. So no client, asking for any size, ever gets
   less than 2048 bits.
3. With no group in range it falls back to a fixed RFC 3526 group by ``max`` alone:
   group 14 (2048 bits) below 3072, group 16 (4096) below 6144, group 18 (8192) from there
   (``dh_new_group_fallback``).

The moduli file format (moduli(5)): ``time type tests tries size generator modulus`` per line,
``size`` being one less than the modulus' bit length; sshd skips, line by line, what is not a
tested safe prime with the size it claims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

DH_GRP_MIN: Final = 2048  # dh.h
DH_GRP_MAX: Final = 8192  # dh.h

_TYPE_SAFE: Final = 2  # MODULI_TYPE_SAFE
_TESTS_COMPOSITE: Final = 0x01  # MODULI_TESTS_COMPOSITE: only sieved, never tested


@dataclass(frozen=True, slots=True)
class Group:
    """One group of the moduli file: its size in bits, generator and prime modulus."""

    size: int
    g: int
    p: int


def parse(text: str) -> list[Group]:
    """The usable groups of a moduli file, in file order; other lines are skipped, as sshd does."""
    groups: list[Group] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#") or len(fields) != 7:
            continue
        try:
            kind, tests, tries, size = (int(f, 10) for f in fields[1:5])
            g, p = int(fields[5], 16), int(fields[6], 16)
        except ValueError:
            continue
        if kind != _TYPE_SAFE or tests & _TESTS_COMPOSITE or not tests or not tries:
            continue
        # The file gives the size one bit short; the modulus must have exactly that many bits.
        size += 1
        if p.bit_length() != size or not 1 < g < p - 1:
            continue
        groups.append(Group(size, g, p))
    return groups


def out_of_range(minimum: int, wanted: int, maximum: int) -> bool:
    """Whether sshd refuses the request outright (rule 1)."""
    return maximum < minimum or wanted < minimum or maximum < wanted or maximum < DH_GRP_MIN


def choose(
    groups: Sequence[Group],
    minimum: int,
    wanted: int,
    maximum: int,
    randbelow: Callable[[int], int],
) -> Group | None:
    """The group sshd offers for a request in range (rule 2), or None for its fallback (rule 3).

    Args:
        groups: the moduli file's groups, in file order.
        minimum, wanted, maximum: the client's request, as sent.
        randbelow: a uniform choice among ``n``, as ``arc4random_uniform``.
    """
    minimum = max(DH_GRP_MIN, minimum)
    maximum = min(DH_GRP_MAX, maximum)
    wanted = min(DH_GRP_MAX, max(DH_GRP_MIN, wanted))
    best = 0
    for group in groups:
        size = group.size
        if size > maximum or size < minimum:
            continue
        # choose_dh's walk: move to a size closer to the wanted one from above, or up from below.
        if (wanted < size < best) or (size > best and best < wanted):
            best = size
    candidates = [g for g in groups if g.size == best and minimum <= best <= maximum]
    if not candidates:
        return None
    return candidates[randbelow(len(candidates))]


def fallback_size(maximum: int) -> int:
    """The size of the RFC 3526 group sshd falls back to (rule 3)."""
    if maximum < 3072:
        return 2048
    if maximum < 6144:
        return 4096
    return 8192


def answer(
    groups: Sequence[Group],
    minimum: int,
    wanted: int,
    maximum: int,
    randbelow: Callable[[int], int],
) -> Group | int | None:
    """sshd's whole answer: None when it refuses (rule 1), else the group of rule 2, or the size
    of rule 3's fallback group."""
    if out_of_range(minimum, wanted, maximum):
        return None
    group = choose(groups, minimum, wanted, maximum, randbelow)
    return group if group is not None else fallback_size(maximum)
