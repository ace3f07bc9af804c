"""Choices that are not part of the app itself: which image, how it is exposed, where."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shipway.render import Expose
from shipway.spec.model import DNS_LABEL


class RenderOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The image the processes run; a digest reference in real deploys.
    image: str = Field(min_length=1)
    expose: Expose = "clusterip"
    namespace: str | None = Field(default=None, pattern=DNS_LABEL, max_length=63)
    ingress_class: str | None = None
    #: Per addon kind, a repository replacing the official image (a private mirror).
    addon_repositories: dict[str, str] = {}
    #: The release number the pods are annotated with (deploys; none for plain renders).
    release: int | None = None
