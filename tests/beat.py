"""Simulating Celery beat under controlled time.

`fire_times(schedule, start, end)` moves the clock (time-machine) from `start` to `end` in steps
and asks the schedule, as beat does, whether it is due; it returns the local times at which it
fired. `down=(from, to)` models a beat process that was not running in that interval.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import time_machine

from procurement.celery import app


def fire_times(
    schedule,
    start: datetime,
    end: datetime,
    *,
    step: timedelta = timedelta(seconds=30),
    down: tuple[datetime, datetime] | None = None,
) -> list[datetime]:
    schedule.app = app
    fired = []
    with time_machine.travel(start, tick=False) as clock:
        last_run = app.now()
        moment = start
        while moment < end:
            clock.move_to(moment)
            if not (down and down[0] <= moment < down[1]):
                due, _next = schedule.is_due(last_run)
                if due:
                    last_run = app.now()
                    fired.append(last_run)
            moment += step
    return fired


def local_strings(times: list[datetime]) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M %Z") for t in times]
