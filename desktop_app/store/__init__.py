"""The desk's SQLite database: opened and migrated by ``db`` (``migrations``), written one transaction per act.

``journal`` (settlements, refunds and the usage they move), ``members``, ``catalogue``, ``operators``,
``audit`` (the hash-chained audit log), ``config`` (raw settings and published figures) and ``settings``
(the registry: every setting's label, default, validator, secrecy and who may change it).
"""
