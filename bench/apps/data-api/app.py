"""A small data API with heavy dependencies (pandas, numpy): the build benchmark's app."""

import pandas as pd
from flask import Flask, jsonify

app = Flask(__name__)
FRAME = pd.DataFrame({"city": ["Havana", "Lima", "Quito"], "temp": [31.0, 19.5, 14.2]})


@app.get("/")
def summary():
    return jsonify(mean=float(FRAME["temp"].mean()), rows=len(FRAME))
