"""Fuzzing the API: schemathesis drives every endpoint of our own /openapi.json against a real
server, with generated and mutated input.

It asserts that no request gets a 5xx, that every response (status, headers, body) matches the
description, and that every error of our own endpoints is JSON with a ``message``; the InfluxDB
endpoints answer in InfluxDB's shapes. The suite runs a bounded number of examples; the longer run
is ``pytest -m slow tests/test_fuzz_api.py`` (see docs/security.md).
"""

import os
from typing import Any

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import ROBIN_TOKEN, Server

# Examples per operation and phase; TIMESERIES_FUZZ_EXAMPLES raises it for a longer run.
EXAMPLES = int(os.environ.get("TIMESERIES_FUZZ_EXAMPLES", "50"))
THINGSPEAK_PATHS = ("/update", "/channels/")


def _api_schema(server: Server) -> Any:
    """Our own description, loaded from the running server, with one series and point to find."""
    series_id = httpx.put(
        server.url + "/series/new",
        json={"token": ROBIN_TOKEN, "desc": "fuzz", "device_desc": "d", "device_id": "i"},
    ).json()
    httpx.put(
        server.url + "/point/new",
        json={"token": ROBIN_TOKEN, "series_id": series_id, "fields": {"v": 1}},
    )
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def errors_are_json_with_a_message(ctx: Any, response: Response, case: Case) -> bool | None:
    """Every 4xx of ours is ``{"message": "..."}``; InfluxDB's endpoints use their own shapes."""
    if response.status_code < 400:
        return None
    path = case.operation.path
    if path.startswith(THINGSPEAK_PATHS) and response.status_code != 413:
        return None  # ThingSpeak's own shapes, which the description holds
    body = orjson.loads(response.content)
    if path == "/write":
        assert isinstance(body.get("error"), str), body
        assert response.headers.get("x-influxdb-error"), response.headers
    else:  # ours and InfluxDB 2.x both answer a message
        assert isinstance(body, dict) and isinstance(body.get("message"), str), body
        assert body["message"], body
    return None


def _call(case: Case) -> None:
    # Writes carry a valid token, so that they get past authentication to the parsers.
    headers = {"Authorization": f"Bearer {ROBIN_TOKEN}"} if case.method != "GET" else {}
    case.call_and_validate(
        headers=headers,
        additional_checks=[errors_are_json_with_a_message],
        # "Valid by the schema, so it must be accepted" cannot hold: a schema cannot say that a
        # timestamp must fall within a day of the server's clock, or that a series must exist.
        excluded_checks=[positive_data_acceptance],
        timeout=30,
    )


def fuzz(server: Server, examples: int, derandomize: bool) -> None:
    """Every operation, with data that fits its description and data that does not."""
    operations = [result.ok() for result in _api_schema(server).get_all_operations()]
    assert len(operations) >= 10, "the description lost endpoints"
    failed: dict[str, BaseException] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=examples,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=derandomize,
                database=None,
            )
            def run(case: Case) -> None:
                _call(case)

            try:
                run()
            except Unsatisfiable:  # nothing to get wrong: no parameters, no body
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as exc:  # every endpoint at once, not the first
                failed[f"{operation.label} ({mode})"] = exc
    if failed:
        summary = "\n\n".join(f"{label}:\n{exc}" for label, exc in failed.items())
        raise AssertionError(f"{len(failed)} operations failed:\n\n{summary}")


def test_every_endpoint_survives_generated_input(server: Server) -> None:
    fuzz(server, EXAMPLES, derandomize=True)


@pytest.mark.slow
def test_every_endpoint_survives_generated_input_long(server: Server) -> None:
    fuzz(server, EXAMPLES * 20, derandomize=False)
