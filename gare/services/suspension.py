"""Suspension of the submission phase for a platform malfunction and its resumption
(§5.2 PUBLISHED → SUSPENDED → PUBLISHED, R-GARE-009, D-41, D-44, AS-08 variant).

Effects on the deadlines: while the tender is SUSPENDED no offer can be submitted, replaced or
withdrawn, and the offer-deadline timer does not close the submission phase (it only runs on a
PUBLISHED tender). On resumption the RPA sets the new offer deadline: up to 48 hours after the
deadline in force at the suspension a published notice is enough; beyond that the formal
amendment of the notice must be referenced. The first session moves by the same interval
(D-41); the answers deadline (offer deadline − 6 days) and the offer validity (180 days from the
deadline) follow the new deadline because they are computed from it. Offers already committed
stay valid (D-44).
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from ..models import Tender, TenderStatus, TenderSuspension
from .common import GareError, audit, fmt_dt, lock_tender, require_staff

NOTICE_ONLY_LIMIT = datetime.timedelta(hours=48)


def current_suspension(tender: Tender) -> TenderSuspension | None:
    return tender.suspensions.filter(resumed_at__isnull=True).order_by("-suspended_at").first()


def tender_suspend(*, user, tender: Tender, reason: str, malfunction_from, now) -> TenderSuspension:
    """The RPA suspends the submission phase: a malfunction not attributable to the OEs."""
    require_staff(user, tender)
    if not reason.strip():
        raise GareError(_("Indica le cause del malfunzionamento che giustificano la sospensione."))
    if malfunction_from is None or malfunction_from > now:
        raise GareError(_("Indica quando è iniziato il malfunzionamento (non nel futuro)."))
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.PUBLISHED or now >= tender.offer_deadline:
            raise GareError(
                _(
                    "Si può sospendere solo una gara pubblicata, prima del termine delle offerte; "
                    "dopo il termine si riapre il termine con una proroga."
                )
            )
        suspension = TenderSuspension.objects.create(
            tender=tender,
            reason=reason,
            malfunction_from=malfunction_from,
            suspended_at=now,
            suspended_by=user,
            deadline_at_suspension=tender.offer_deadline,
        )
        before = tender.status
        tender.suspend()
        tender.save()
        audit(
            action="procedura sospesa",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            from_state=before,
            to_state=tender.status,
            payload={"reason": reason, "malfunction_from": malfunction_from.isoformat()},
        )
    return suspension


def tender_resume(
    *,
    user,
    tender: Tender,
    new_deadline,
    malfunction_to,
    notice_amendment_ref: str = "",
    now,
) -> TenderSuspension:
    """Resume the submission phase with the new offer deadline (D-44) and move the first
    session by as much (D-41)."""
    require_staff(user, tender)
    if new_deadline is None or new_deadline <= now:
        raise GareError(
            _("Il nuovo termine delle offerte deve essere successivo al momento presente.")
        )
    with transaction.atomic():
        tender = lock_tender(tender)
        if tender.status != TenderStatus.SUSPENDED:
            raise GareError(_("La gara non è sospesa."))
        suspension = (
            TenderSuspension.objects.select_for_update()
            .filter(tender=tender, resumed_at__isnull=True)
            .order_by("-suspended_at")
            .first()
        )
        old = suspension.deadline_at_suspension
        if new_deadline < old:
            raise GareError(
                _("Il nuovo termine non può precedere quello in vigore alla sospensione (%(d)s).")
                % {"d": fmt_dt(old)}
            )
        if malfunction_to is None or malfunction_to < suspension.malfunction_from:
            raise GareError(_("Indica quando è terminato il malfunzionamento."))
        if new_deadline - old > NOTICE_ONLY_LIMIT and not notice_amendment_ref.strip():
            raise GareError(
                _(
                    "Una proroga di oltre 48 ore richiede la rettifica formale del bando: "
                    "indica gli estremi della rettifica pubblicata."
                )
            )
        shift = new_deadline - old
        suspension.resumed_at = now
        suspension.malfunction_to = malfunction_to
        suspension.new_deadline = new_deadline
        suspension.notice_amendment_ref = notice_amendment_ref
        suspension.save()
        before = tender.status
        tender.resume()
        tender.offer_deadline = new_deadline
        if tender.first_session_at is not None:
            tender.first_session_at = tender.first_session_at + shift
        tender.save()
        audit(
            action="procedura ripresa",
            actor=user,
            obj=tender,
            tender=tender,
            now=now,
            from_state=before,
            to_state=tender.status,
            payload={
                "old": old.isoformat(),
                "new": new_deadline.isoformat(),
                "first_session": tender.first_session_at.isoformat()
                if tender.first_session_at
                else None,
                "malfunction_minutes": int(
                    (malfunction_to - suspension.malfunction_from).total_seconds() // 60
                ),
                "amendment": notice_amendment_ref,
            },
        )
    return suspension
