"""The hub's revisions, one file each, in order by ``down_revision``.

A revision is frozen once it ships: a later change to ``schema.py``'s tables is a new file here,
never an edit of an old one (``tests/test_hub_migrations.py`` fails when head and ``schema.metadata``
differ).  Alembic reads these files by their paths; this ``__init__`` only makes setuptools ship them.
"""
