"""The ceiling: a bare Starlette endpoint that reads a JSON body and answers 201, nothing more.

Measured on the same machine in the same run as ours, it says how much of the time is the HTTP
stack itself (uvicorn, the event loop) and how much is our work.
"""

import sys

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def new_point(request: Request) -> Response:
    """Parse the body like /point/new does, answer like it does."""
    orjson.loads(await request.body())
    return Response(b"1", 201, media_type="application/json")


_BLOBS: dict[int, bytes] = {}


async def blob(request: Request) -> Response:
    """``size`` bytes from memory: the cost of sending a response that large, and no more."""
    size = int(request.path_params["size"])
    body = _BLOBS.setdefault(size, b"[" + b"0," * ((size - 2) // 2) + b"0]")
    return Response(body, media_type="application/json")


app = Starlette(
    routes=[
        Route("/point/new", new_point, methods=["PUT", "POST"]),
        Route("/blob/{size}", blob),
    ]
)


if __name__ == "__main__":
    # python ceiling_app.py PORT WORKERS: served by the same code as ours (timeseries_api.serving:
    # uvicorn, and on Linux a listening socket per worker), so the comparison stays like for like.
    from timeseries_api.serving import run

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    run(
        "ceiling_app:app",
        {"host": "127.0.0.1", "port": port, "workers": workers, "log_level": "warning",
         "access_log": False},
    )  # fmt: skip
