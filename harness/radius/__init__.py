"""RADIUS on the wire: the harness as a NAS (access requests, accounting) and as a CoA / Disconnect listener."""
