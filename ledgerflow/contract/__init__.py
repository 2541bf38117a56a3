"""The contract with the Rust services, as data: the schema they rely on (``schema``) and every
statement they send (``statements``). ``docs/CONTRACT.md`` is generated from it, and the tests
prove the migrations build exactly it."""
