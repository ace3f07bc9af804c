"""The only part of Shipway that talks to a Kubernetes cluster (through lightkube)."""
