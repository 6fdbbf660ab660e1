"""The enricher's own events: its watches' state and the requests it refused (docs/events.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from honeypods.core.catalogue import INT, NUM, STR, EventSpec

WATCH_STATES: Final = ("listing", "synced", "watching", "retrying", "relisting")

EVENTS: Final[Mapping[str, EventSpec]] = {
    "enricher.watch": EventSpec(
        "state",
        "A watch of the Kubernetes API changed state: listing, synced (a full list is in), "
        "watching, retrying (after an error or a dropped stream, with the delay) or relisting "
        "(its resourceVersion expired).",
        {
            "enricher.resource": (
                STR,
                "`pods`, `nodes`, `replicasets` or `jobs`, with the "
                "namespace when namespaced (`pods/team-a`).",
            ),
            "enricher.state": ({"type": "string", "enum": list(WATCH_STATES)}, "The new state."),
            "event.reason": (STR, "Why: `start`, `expired`, `stream_ended`, `error`, ..."),
            "error.message": (STR, "The error, when there was one."),
            "enricher.resource_version": (STR, "The resourceVersion it lists or watches from."),
            "enricher.objects": (INT, "Objects in the list just completed (synced)."),
            "enricher.retry_in": (NUM, "Seconds until the next try (retrying)."),
        },
        required=("enricher.resource", "enricher.state"),
        connection=False,
    ),
    "enricher.rejected": EventSpec(
        "event",
        "A request to the enricher was refused: bad token, malformed or oversized body, or "
        "events that are not decoy events. Counted in honeypods_enricher_rejected_total.",
        {
            "event.reason": (STR, "`unauthorized`, `too_large`, `malformed`, `invalid_event`."),
            "http.response.status_code": (INT, "Status answered."),
            "error.message": (STR, "What was wrong (capped)."),
            "client.ip": (STR, "Address the request came from."),
            "honeypod.count": (INT, "Events refused in the request."),
        },
        required=("event.reason",),
        connection=False,
    ),
}
