"""harness: simulated devices and access points that walk Intune's nine-step NAC flow."""

__version__ = "0.1.0"
