"""``shipway server install``: the team server in a cluster, in namespace
``shipway-system``.

* ``rbac``: the least the server's ServiceAccount needs, and the admission policy that
  says what RBAC cannot (only namespaces Shipway manages).
* ``manifests``: the server's and the in-cluster registry's objects (pure).
* ``images``: the registry's image (Debian's ``docker-registry``) and the server's own
  image, built by Shipway's builder from Shipway's source.
* ``mirror``: the platform's base and addon images copied into the in-cluster registry.
* ``run``: install and uninstall against a cluster, through ``shipway.kube``.
"""
