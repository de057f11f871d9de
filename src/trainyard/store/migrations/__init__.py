"""The SQL store's alembic migrations: env.py and one file per revision in versions/.

trainyard.store.migrate runs them when a store opens; nothing needs an alembic.ini. A new
revision is a file in versions/ whose `down_revision` is the previous one (number them 0003,
0004, ...), and `migrate.HEAD` names the newest (a test checks that the two agree).
"""
