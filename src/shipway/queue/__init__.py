"""The deploy queue: deploy records with ordered steps and an event stream
(``records``), the progress a deploy reports to (``recorder``), the rules that start
deploys (``scheduler``), and what the server runs for one (``runner``)."""

from shipway.queue.recorder import Recorder
from shipway.queue.records import STEPS
from shipway.queue.scheduler import Queue, Request

__all__ = ["STEPS", "Queue", "Recorder", "Request"]
