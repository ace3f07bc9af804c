"""``shipway server``: the HTTP front end a team deploys through. Thin: routes parse and
authorise a request, then call the same verbs (``shipway.ops``) and account functions
the CLI does. The core never imports this package (an import-linter contract)."""
