"""What the MySQL decoy answers after login: a persona of an empty database with easy access.

The persona is a MySQL 8.0 primary whose account is an application's: it may read and write a
few application schemas and nothing else; ``SHOW GRANTS`` says so, so every refusal (1142, 1044,
1227) is consistent with it. Writes are acknowledged and never kept. The schemas look worth
stealing (users, payments, API keys) and every table is empty but for the rows the adapter gives
the session (``SqlSession.rows``: the planted honeytokens, docs/honeytokens.md).

Pure functions, no asyncio, nothing of ``honeypods.core``: the adapter passes a ``SqlSession``
and gets a reply; the only state kept is the session's own (current database, autocommit,
transaction). Modules:

* ``persona``: ``answer()``, the statement table, USE and the refused writes.
* ``select``: SELECT; ``show``: SHOW, DESCRIBE, COM_FIELD_LIST.
* ``variables``: system variables and SET; ``schema``: the data shown; ``infoschema``:
  information_schema's views, typed as MySQL 8.0 types them; ``write``: the acknowledged writes.
* ``text``: comments, quotes, splitting; ``session``: ``SqlSession``.
"""

from honeypods.mysql.sql.persona import answer, database_named, use_database
from honeypods.mysql.sql.session import SqlSession
from honeypods.mysql.sql.show import field_list
from honeypods.mysql.sql.text import split_statements
from honeypods.mysql.sql.variables import VERSION_COMMENT, default_variables

__all__ = [
    "VERSION_COMMENT",
    "SqlSession",
    "answer",
    "database_named",
    "default_variables",
    "field_list",
    "split_statements",
    "use_database",
]
