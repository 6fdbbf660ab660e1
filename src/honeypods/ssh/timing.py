"""When sshd answers a refused authentication: the model the lure's waits follow. Sans-IO.

Where the numbers come from: ``bench/ssh_timing.py`` times failed passwords against Debian's real
sshd (openssh-server with UsePAM yes, Debian's PAM stack) and against the lure, and reads sshd's
DEBUG3 log for its own waits. On Debian 12 (OpenSSH 9.2p1, Linux-PAM 1.5.2; the persona's 8.4p1
and PAM 1.4.0 have the same code for this), what it shows, and what this module computes:

1. **A per-user minimum** (auth2.c ``user_specific_delay``): ``d = 5 ms + u / 10^12 s``, ``u``
   the first four bytes of SHA-512 over a secret drawn at sshd's start and the user name, so
   0 to 4.29 ms more per user, stable until sshd restarts. sshd logs it as "requested".
2. **Rounded up by doubling** (auth2.c ``ensure_minimum_time_since``): a refusal is answered at
   the first ``d * 2^k`` (k >= 0) not earlier than what the method took. A failed password is
   therefore one of two or three values per user (2.34 s, 2.56 s, 3.84 s, 4.14 s ... in the
   runs), never a spread: ``minimum_time``.
3. **PAM's fail delay** for a password: pam_unix asks libpam for 2 s, which libpam varies
   (``_pam_compute_delay`` in pam_delay.c): seeded with ``time(NULL)`` when the check starts,
   three steps of the linear congruential generator ``seed = 1664525 * seed + 1013904223 mod
   2^32``, and ``delay = base * (0.5 + mean((seed // 10) % 10^6) / 10^6)``. Every check that starts
   within the same wall-clock second waits the same; the runs saw 1.59 to 2.42 s of PAM time
   for 2 s: ``pam_delay``.
4. **Empty passwords** are refused before PAM (auth-passwd.c, PermitEmptyPasswords no): only
   the minimum, 5 to 10 ms.
5. **A connection's first request** also pays for sshd's per-connection setup (getpwnam,
   pam_start), outside the minimum-time window: 1 to 3 ms, ``SETUP_DELAY``. A client's first
   try takes about 40 ms more than its later ones against sshd and the lure alike, but that is
   paramiko's service request round trip before it (``SERVICE_ACCEPT`` arrives about 40 ms after
   the request from both), not sshd's wait: counted once, not twice.

Clocks, sleeps and the secret are the caller's (``policy.Policy``), so this module only computes.
"""

from __future__ import annotations

import hashlib
from typing import Final

MIN_FAIL_DELAY: Final = 0.005  # auth2.c MIN_FAIL_DELAY_SECONDS
SETUP_DELAY: Final = 0.002  # rule 5, measured (bench/ssh_timing.py)
PAM_UNIX_DELAY: Final = 2.0  # pam_unix's pam_fail_delay(2000000) without its nodelay option

_LCG_A: Final = 1664525
_LCG_C: Final = 1013904223


def user_delay(secret: bytes, user: str) -> float:
    """Rule 1: the per-user minimum, in seconds."""
    digest = hashlib.sha512(secret + user.encode("utf-8", "replace")).digest()
    return MIN_FAIL_DELAY + int.from_bytes(digest[:4], "big") / 1e12


def minimum_time(floor: float, elapsed: float) -> float:
    """Rule 2: when the refusal is answered, counted from the request, given what it took."""
    if floor <= 0:
        return max(elapsed, 0.0)
    answer = floor
    while answer < elapsed:
        answer *= 2
    return answer


def pam_delay(base: float, wall_second: int) -> float:
    """Rule 3: libpam's fail delay for a check started in ``wall_second`` (Unix time)."""
    seed = wall_second & 0xFFFFFFFF
    total = 0
    for _ in range(3):
        seed = (_LCG_A * seed + _LCG_C) & 0xFFFFFFFF
        total += (seed // 10) % 1_000_000
    return base * (0.5 + total / 3 / 1e6)
