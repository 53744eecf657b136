"""Alembic's environment for the hub, run by ``migrations.upgrade`` (there is no alembic.ini).

The caller hands over a connection already inside its write transaction, holding the lock
(``config.attributes["connection"]``); every revision runs in that one transaction, so an
upgrade on PostgreSQL commits whole or not at all.  Alembic loads this file by its path, so its
imports are absolute.
"""

from alembic import context

from desktop_app.hub.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("the hub's migrations run through desktop_app.hub.migrations, with a connection")
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
