"""Connections to the addons Shipway attached: DATABASE_URL and REDIS_URL."""

import os

import psycopg
import redis

QUEUE = "notes:incoming"


def database():
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)


def queue():
    return redis.Redis.from_url(os.environ["REDIS_URL"])
