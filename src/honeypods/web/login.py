"""The login backend's policy: what a sign-in posted to the API holds, what the API answers, and
how it slows down one source that keeps guessing.

Policy, no I/O and no clock of its own (the caller passes ``now``), so every rule here is tested
without waiting. The answers are those of the dashboards people run today (Grafana, Argo CD,
Portainer): a JSON body with a ``message``, 401 for wrong credentials, 400 for a body that is no
sign-in, and 429 with ``Retry-After`` once one address failed ``attempts`` times within ``window``
seconds (Grafana's brute-force protection: 5 tries in 5 minutes). No login ever succeeds.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

FAILED: Final = "Invalid username or password"
MALFORMED: Final = "Invalid request body"
THROTTLED: Final = "Too many failed login attempts. Please try again later."
# Its route takes POST only; its router answers other methods as it does unknown API paths.
NOT_FOUND: Final = "Not found"

# Field names a client may send the account and the secret under (the form names of the older
# login pages included, which scripted guessers still use).
_USER_KEYS: Final = ("username", "user", "login", "email")
_PASSWORD_KEYS: Final = ("password", "pass", "passwd")
# parse_qsl stops at this many pairs: a body of a million "&" is no sign-in, and no work.
_MAX_FIELDS: Final = 100


def body_kind(content_type: str, body: bytes) -> str:
    """How the body is read: ``json``, ``form`` (urlencoded), ``multipart`` or ``other``."""
    kind = content_type.partition(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return "json"
    if kind == "application/x-www-form-urlencoded":
        return "form"
    if kind == "multipart/form-data":
        return "multipart"
    # curl -d without -H sends a form type; a script posting raw JSON often sends none.
    return "json" if body.lstrip()[:1] == b"{" else "other"


def parse_body(kind: str, body: bytes) -> Mapping[str, Any] | None:
    """The fields of a JSON or urlencoded body; None when it is not a JSON object or a form."""
    text = body.decode("utf-8", "replace")
    if kind == "json":
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: a body of "[[[[..." a megabyte deep
            return None
        return value if isinstance(value, dict) else None
    if kind == "form":
        try:
            return dict(urllib.parse.parse_qsl(text, max_num_fields=_MAX_FIELDS))
        except ValueError:
            return None
    return None


def credentials(fields: Mapping[str, Any]) -> tuple[str, str]:
    """(account, secret) from a sign-in's fields; what is missing is empty."""
    return _pick(fields, _USER_KEYS), _pick(fields, _PASSWORD_KEYS)


def _pick(fields: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        if key in fields:
            value = fields[key]
            return value if isinstance(value, str) else json.dumps(value, default=str)
    return ""


def message(text: str) -> bytes:
    """The API's error body."""
    return json.dumps({"message": text}, separators=(",", ":")).encode("utf-8")


class Throttle:
    """Failed logins per source address, within a fixed window from the first failure.

    Memory is bounded: at most ``capacity`` addresses are tracked; when a new one comes, the one
    that failed least recently is forgotten (a flood of sources only ever frees its oldest).

    Args:
        attempts: failures within the window after which the address is refused.
        window: seconds from an address's first failure until its count starts over.
        capacity: addresses tracked at most.
    """

    def __init__(self, attempts: int = 5, window: float = 300.0, capacity: int = 10_000) -> None:
        self.attempts = attempts
        self.window = window
        self.capacity = capacity
        # address -> [first failure, failures]; most recently failed last.
        self._seen: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def retry_after(self, address: str, now: float) -> int:
        """Seconds ``address`` must wait before its next try is checked; 0 when it may try."""
        entry = self._seen.get(address)
        if entry is None:
            return 0
        start, count = entry
        if now - start >= self.window:
            del self._seen[address]
            return 0
        if count < self.attempts:
            return 0
        return max(1, math.ceil(start + self.window - now))

    def failed(self, address: str, now: float) -> None:
        """Count one failed login of ``address``."""
        seen = self._seen
        entry = seen.get(address)
        if entry is None or now - entry[0] >= self.window:
            if entry is None and len(seen) >= self.capacity:
                seen.popitem(last=False)
            seen[address] = [now, 1.0]
        else:
            entry[1] += 1
        seen.move_to_end(address)
