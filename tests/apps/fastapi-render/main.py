"""A FastAPI app as Render's Python quick start lays it out: main.py and render.yaml."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def root():
    return {"app": "fastapi-render", "ok": True}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}
