"""harness: simulated devices and access points that walk Intune's nine-step NAC flow."""

import os

# The harness's numpy work is elementwise (a shard's initial records, the noncompliant sweep): it
# never calls BLAS, whose worker threads would only spin beside every simulation shard (~15 % of a
# 10,000-device shard's CPU). Set before numpy is first imported; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
