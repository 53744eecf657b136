"""A journal entry's UUID: version 7 (RFC 9562), time-ordered, so that each new entry goes at the end of every
index keyed by it.

A random (version 4) UUID put each settlement at a random place in the desk's and the hub's indexes on it (the
journal's key, the outbox, the diagnoses, the traceability codes): a page of each written anew per settlement,
and on the hub about a thousand pages a push.  Version 7 starts with the Unix time in milliseconds, then 74
random bits: unique as before (the hub refuses a UUID taken already in any case), and the desk's clock says no
more than the entry's own ``created_at`` does.
"""

from __future__ import annotations

import os
import time
import uuid


def new_entry_uuid(now_ms: int | None = None) -> str:
    """A new version-7 UUID for a settlement or a refund (``now_ms``: the time to stamp, else the clock's)."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if not 0 <= ms < 1 << 48:
        raise ValueError(f"now_ms {ms} is outside the 48 bits of a version-7 UUID")
    random = int.from_bytes(os.urandom(10), "big")  # 80 bits, of which 74 are kept
    value = (ms << 80) | (0x7 << 76) | ((random >> 68) & 0xFFF) << 64 | (0b10 << 62) | (random & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))
