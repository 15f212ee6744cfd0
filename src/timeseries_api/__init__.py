"""timeseries-api: a dead simple, fast, self-hosted store for time series sent by IoT devices."""

__version__ = "0.1.0"
