"""honeypods: hardened decoys for Kubernetes that log every contact as JSON."""

__version__ = "0.1.0"
