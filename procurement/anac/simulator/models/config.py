from __future__ import annotations

from django.db import models


class SimulatorConfig(models.Model):
    """Faults and timings of the simulator, changed at run time (control API, tests, benchmarks).

    One row (pk=1). Rates are fractions between 0 and 1, applied per request after authentication.
    """

    latency_ms = models.PositiveIntegerField(default=0)
    rate_429 = models.FloatField(default=0.0)
    retry_after_s = models.PositiveIntegerField(default=1)
    rate_5xx = models.FloatField(default=0.0)
    ko_rate = models.FloatField(default=0.0)  # share of confirmations that end KO
    wt_seconds = models.FloatField(default=0.0)  # how long an async outcome stays WT
    never_resolves = models.BooleanField(default=False)  # async outcomes stay WT forever
    seed = models.BigIntegerField(null=True, blank=True)  # for reproducible fault sequences

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return "Configurazione del simulatore"

    @classmethod
    def current(cls) -> SimulatorConfig:
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj
