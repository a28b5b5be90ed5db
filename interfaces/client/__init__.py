"""A typed Python client of TaskRouterX's HTTP API, on httpx alone: importing it loads
neither the server (FastAPI, SQLAlchemy) nor its settings.

    from interfaces.client import Client

    with Client("http://localhost:8000", api_key="...") as router:
        task = router.submit("order", priority=5, cost=1.0, region="us-east")
        for each in router.tasks(status="queued"):
            ...
"""

from interfaces.client.asynchronous import AsyncClient
from interfaces.client.errors import ProblemError
from interfaces.client.events import StreamedEvent
from interfaces.client.sync import Client
from interfaces.client.types import Lease, Pool, Task

__all__ = ["AsyncClient", "Client", "Lease", "Pool", "ProblemError", "StreamedEvent", "Task"]
