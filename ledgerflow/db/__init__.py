"""The database toolbox: the fields, expressions and migration operations the schema needs."""
