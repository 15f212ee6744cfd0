"""What a serving process tunes in the Python runtime once its app is built."""

import gc

# Net container allocations (allocations minus deallocations) between two young collections.
# A 5,000-line body makes tens of thousands of short-lived tuples and lists, a JSON batch a dict
# per point; at Python's default of 700 the collector ran dozens of times per request, about 13%
# of a line protocol write's time (docs/benchmarks.md). Measured on Python 3.11, whose collector
# has three generations; 3.14's incremental collector reads the threshold differently.
YOUNG_COLLECTION_THRESHOLD = 50_000


def tune_garbage_collector() -> None:
    """Tune the garbage collector of a serving process for ingest.

    What exists once the app is built (modules, the app, its routes) lives as long as the
    process: after one last collection it is frozen, and the collector never walks it again.
    Young collections run less often; the cyclic garbage they find waits a little longer (a
    request makes little of it: frames and parsed values are freed by reference counting).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
