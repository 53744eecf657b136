"""The central server (hub): desks push their journals to it and pull members, catalogue and usage from it.

``app`` is the HTTP API; ``push`` applies a desk's journal entries, each settled again by ``recompute``
from the hub's own data; ``pull`` is what a desk reads back.  The data: ``schema`` (tables, engine, the
feed-locked write), ``desks`` (tokens, audit anchors), ``accounts`` (balances, usage counters),
``importer`` (seeding from a county's export), ``checks`` (``hub check``) and ``migrations`` (Alembic:
``hub upgrade``; the hub serves only a database at head).  The hub speaks to desks
only through ``sync.protocol``; it never imports the desk's store, services or UI.  ``limits`` bounds what
it takes (body size, workers at once) and answers past them: 413, a 422 that echoes nothing, 503 when busy.
"""
