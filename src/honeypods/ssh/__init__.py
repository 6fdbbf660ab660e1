"""The SSH lure: an OpenSSH persona that records every authentication attempt."""

from honeypods.core.registry import Decoy
from honeypods.ssh.catalogue import EVENTS
from honeypods.ssh.config import SshConfig

DECOY = Decoy(
    name="ssh",
    title="SSH lure with an OpenSSH persona",
    config=SshConfig,
    events=EVENTS,
    rules=("honeypod.network.ssh", "honeypod.honeytoken.used"),
    limits={"idle_timeout": 120.0, "deadline": 600.0},  # LoginGraceTime 120s
    needs=("asyncssh",),
    proxy_protocol=True,
    seeded=True,
)
