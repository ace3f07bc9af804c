"""A FastAPI + Postgres app as Railway templates write it: DATABASE_URL from the platform."""

import os
from contextlib import asynccontextmanager

import psycopg
from fastapi import FastAPI
from pydantic import BaseModel


def connect() -> psycopg.Connection:
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    with connect() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)")
    yield


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    name: str


@app.get("/")
def root():
    return {"app": "fastapi-railway-postgres", "ok": True}


@app.get("/health")
def health():
    with connect() as conn:
        conn.execute("SELECT 1")
    return {"status": "ok"}


@app.post("/items", status_code=201)
def create_item(item: Item):
    with connect() as conn:
        conn.execute("INSERT INTO items (name) VALUES (%s)", (item.name,))
    return {"name": item.name}


@app.get("/items")
def list_items():
    with connect() as conn:
        rows = conn.execute("SELECT name FROM items ORDER BY id").fetchall()
    return {"items": [name for (name,) in rows]}
