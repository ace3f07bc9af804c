"""A FastAPI app served by Hypercorn, as nixpacks.toml says."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root():
    return {"app": "uv-hypercorn", "ok": True}
