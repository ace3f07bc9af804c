"""The server's database: who may do what, and what happened (see models)."""
