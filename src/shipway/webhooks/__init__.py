"""Webhook deliveries (GitHub, GitLab, Shipway's generic hook): whether one is signed
with the app's secret (``signatures``) and what it asks for (``events``)."""
