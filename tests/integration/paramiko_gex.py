"""paramiko's DH group exchange, watched: the groups a server sends, which paramiko drops once the
key exchange is done."""

from __future__ import annotations

from typing import Any

import paramiko
import pytest

GEX = paramiko.kex_gex.KexGexSHA256


def note_groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The primes p of every group paramiko receives from now on, in order."""
    groups: list[int] = []
    parse = GEX._parse_kexdh_gex_group

    def noted(self: Any, m: Any) -> None:
        parse(self, m)
        groups.append(self.p)

    monkeypatch.setattr(GEX, "_parse_kexdh_gex_group", noted)
    return groups
