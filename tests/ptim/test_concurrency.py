"""R-PTIM-148: concurrent bookings on one AQ never over-allocate (real threads, PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from ptim import services
from ptim.models import Contract, ContractState, ProgressiveCounter
from tests.factories.kernel import aware

from .conftest import D

CLIENTS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_clients_never_exceed_any_ceiling(f0):
    assert connection.vendor == "postgresql"
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[str] = []
    lock = threading.Lock()
    datas = [f0.data("I-1") for _ in range(CLIENTS)]

    def client(i):
        try:
            barrier.wait()
            services.book_operator(user=f0.p1, data=datas[i], now=aware(2024, 3, 4, 9, 0, i))
            result = "booked"
        except services.Unavailable:
            result = "unavailable"
        except Exception as exc:  # any other failure is a defect
            result = f"error: {exc!r}"
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not [o for o in outcomes if o.startswith("error")], outcomes
    booked = Contract.objects.filter(state=ContractState.BOOKED)
    # M.U. ceiling 500,000: A takes 3 × 85,000, then B 95,000 × 2 = 445,000; a sixth (≥ 92,500)
    # would exceed it.
    assert booked.count() == outcomes.count("booked") == 5
    r = f0.residuals()
    assert all(v >= 0 for v in r.values()), r
    assert r["MU"] == D("55000.00") and r["A"] == D("45000.00") and r["B"] == D("110000.00")
    progressives = sorted(int(c.progressive) for c in booked)
    assert progressives == list(range(325, 330))  # no gaps, no duplicates
    assert ProgressiveCounter.objects.get().last_root == 329
    assert services.residual_differences() == []
