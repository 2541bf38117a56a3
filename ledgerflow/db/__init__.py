"""The database toolbox, the bottom layer: it imports nothing else of the project.

Fields, expressions and migration operations the schema needs (``fields``, ``expressions``,
``operations``); what PostgreSQL errors mean (``errors``) and how long a statement waits for a
lock (``timeouts``); catalog reads (``introspection``, ``catalog``); URLs and connection
parameters (``urls``); the supported servers (``server_versions``), the embedded development
server (``embedded``), pg_dump/pg_restore (``clienttools``) and scratch databases (``scratch``).
"""
