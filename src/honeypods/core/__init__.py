"""What every decoy uses and no decoy owns: settings, registry, events, guard, TLS, metrics."""
