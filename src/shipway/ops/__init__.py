"""The verbs, once: each takes who asks, an app and a typed request, calls the core and
returns what ``--json`` prints. The CLI runs them in process (direct mode) or asks the
server to (remote mode); the server's routes run the same ones after their permission
check. See ``table`` for how a verb is declared."""
