"""OCI images of apps: the generated Dockerfile now, the daemonless builder next."""
