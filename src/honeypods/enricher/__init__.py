"""The enricher: a read-only Kubernetes watcher that names the workload behind each decoy event.

Decoys post their alert events to it; it attributes each to the pod that held the event's
``source.ip`` at the event's ``@timestamp`` and writes it again with ``source.kubernetes.*``. It is
the only part of the suite that talks to the Kubernetes API: decoys have no token and no RBAC.
"""

from honeypods.core.registry import Decoy
from honeypods.enricher.catalogue import EVENTS
from honeypods.enricher.config import EnricherConfig

DECOY = Decoy(
    name="enricher",
    title="Kubernetes workload attribution of decoy events (read-only API access)",
    config=EnricherConfig,
    events=EVENTS,
    rules=(),
    logins=False,
    needs=("kubernetes_asyncio", "aiohttp"),
)
