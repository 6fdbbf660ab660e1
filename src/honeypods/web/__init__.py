"""The web decoy: a fake internal dashboard behind an nginx persona, over HTTP and HTTPS."""

from honeypods.core.registry import Decoy
from honeypods.web.catalogue import EVENTS
from honeypods.web.config import WebConfig

DECOY = Decoy(
    name="web",
    title="Fake internal dashboard behind an nginx persona",
    config=WebConfig,
    events=EVENTS,
    rules=("honeypod.fake.svc", "honeypod.honeytoken.used"),
    # nginx: client_header_timeout 60 s; a 1 MiB body (client_max_body_size) plus its head must
    # reach nginx's 413 page rather than the byte cap.
    limits={"idle_timeout": 60.0, "deadline": 300.0, "max_bytes_in": 8 << 20},
    needs=("aiohttp",),
    proxy_protocol=True,
    keeps_state=True,
    seeded=True,
)
