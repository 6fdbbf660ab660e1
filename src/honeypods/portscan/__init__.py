"""The IP-enumeration and port-scan decoy: TCP listeners on commonly probed ports, a scan detector,
and an optional raw-packet sensor for pings and half-open scans."""

from honeypods.core.registry import Decoy
from honeypods.portscan.catalogue import EVENTS
from honeypods.portscan.config import PortscanConfig

DECOY = Decoy(
    name="portscan",
    title="IP enumeration and port-scan responder",
    config=PortscanConfig,
    events=EVENTS,
    rules=("honeypod.ip.enum", "honeypod.port.scan", "honeypod.network.ssh"),
    logins=False,
    limits={"idle_timeout": 30.0, "deadline": 60.0, "max_bytes_in": 65536},
)
