"""A FastAPI app started by its own CLI, `fastapi run`, which serves on 0.0.0.0:8000."""

import sys

from fastapi import FastAPI

app = FastAPI(title="poetry-fastapi")


@app.get("/")
def root():
    return {"app": "poetry-fastapi", "ok": True}


@app.get("/python")
def python():
    return {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
