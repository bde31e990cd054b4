"""SC-01, SC-02, SC-03: input checks, lot, booking cascade, unavailability messages."""

from __future__ import annotations

import pytest
from django.core import mail  # noqa: F401

from procurement.notifications.models import EmailOutbox
from ptim import services
from ptim.models import AvailabilityShortfall, Contract, ContractState, ProgressiveCounter, Receipt
from ptim.pdf import render_receipt
from ptim.selection import suffix
from tests.factories.kernel import aware

from .conftest import D

pytestmark = pytest.mark.django_db
NOW = aware(2024, 3, 4, 9, 0)


def errors_of(exc):
    return [str(m) for v in exc.value.errors.values() for m in v]


def test_sc01_input_checks_and_lot_determination(f0):
    # 1: prevailing 120,000 → Lot 1 although planned 200,000; screen 2 proposes A at 164,000
    data = f0.data(
        works_amount=D("180000.00"),
        safety_costs=D("20000.00"),
        og1_amount=D("120000.00"),
        og2_amount=D("80000.00"),
    )
    iv = services.check_intervention(user=f0.p1, data=data, now=NOW)
    assert iv.planned == D("200000.00") and iv.lot.number == 1 and iv.agreement == f0.aq
    sel = services.propose_operator(user=f0.p1, intervention=iv, now=NOW)
    assert sel.membership == f0.ops["A"] and sel.amount == D("164000.00")
    # 2: prevailing 150,000.50 → Lot 2, no Lot-2 AQ for Lombardia → A-10
    data = f0.data(
        works_amount=D("140000.00"), safety_costs=D("10000.50"), og1_amount=D("150000.50")
    )
    with pytest.raises(services.PtimError) as exc:
        services.check_intervention(user=f0.p1, data=data, now=NOW)
    assert "non esistono Accordi Quadro vigenti per il Lotto 2" in exc.value.message
    # 3, 4: planned out of range → A-11
    for works, safety, og1 in (
        ("38000.00", "1999.99", "39999.99"),
        ("2500000.00", "82000.01", "100000"),
    ):
        data = f0.data(works_amount=D(works), safety_costs=D(safety), og1_amount=D(og1))
        with pytest.raises(services.PtimError) as exc:
            services.check_intervention(user=f0.p1, data=data, now=NOW)
        assert (
            "L’Importo dei lavori pianificato deve essere compreso tra 40.000,00 e "
            "2.582.000,00 euro." in errors_of(exc)
        )
    # 5: prevailing 30,000 < 40,000 → Lot 1, passes
    data = f0.data(
        works_amount=D("50000.00"),
        safety_costs=D("10000.00"),
        og1_amount=D("30000.00"),
        og2_amount=D("30000.00"),
    )
    assert services.check_intervention(user=f0.p1, data=data, now=NOW).lot.number == 1
    # 6: OG11 empty → mandatory
    with pytest.raises(services.PtimError) as exc:
        services.check_intervention(user=f0.p1, data=f0.data(og11_amount=""), now=NOW)
    assert "og11_amount" in exc.value.errors
    # 7: OG sum above planned → A-40
    with pytest.raises(services.PtimError) as exc:
        services.check_intervention(
            user=f0.p1, data=f0.data(og1_amount=D("100000.00"), og2_amount=D("20000.00")), now=NOW
        )
    assert any(m.startswith("Valorizzare gli importi OG1, OG2 e OG11") for m in errors_of(exc))
    # 8: RUP e-mail equal to the office e-mail (case and spaces ignored) → A-12
    with pytest.raises(services.PtimError) as exc:
        services.check_intervention(
            user=f0.p1, data=f0.data(rup_email=" Ufficio.Tecnico@oopp.example.it "), now=NOW
        )
    assert exc.value.errors["rup_email"] == [services.M.A12]
    # 10: Difesa — only "Difesa", Tipologia mandatory, other types → A-14
    assert [c.code for c in services.chapters_for(user=f0.d1, agreement=f0.aq)] == ["DIFESA"]
    bad = f0.data("I-6", "DIFESA", user=f0.d1, intervention_type=f0.types[False].pk)
    with pytest.raises(services.PtimError) as exc:
        services.check_descriptive(user=f0.d1, agreement=f0.aq, data=bad)
    assert exc.value.errors["intervention_type"] == [services.M.A14]
    # 11: p1 sees only M.U. and 7754; MU data mandatory; "a misura" mandatory
    assert [c.code for c in services.chapters_for(user=f0.p1, agreement=f0.aq)] == ["MU", "C7754"]
    with pytest.raises(services.PtimError) as exc:
        services.check_descriptive(
            user=f0.p1,
            agreement=f0.aq,
            data=f0.data(intervention_identifier="", plan_year="", measured_basis_confirmed=False),
        )
    assert {"intervention_identifier", "plan_year", "measured_basis_confirmed"} <= set(
        exc.value.errors
    )
    assert not Contract.objects.exists()


def test_sc01_9_amministrazione_usuaria_limit(f0):
    from procurement.accounts.models import Role
    from ptim.models import OrganisationProfile, UserType
    from tests.factories.kernel import OrganisationFactory, member

    org = OrganisationFactory(name="Prefettura di Milano")
    profile = OrganisationProfile.objects.create(
        organisation=org, user_type=UserType.AMMINISTRAZIONE_USUARIA
    )
    profile.territorial_areas.set([f0.area])
    user = member(org, Role.RUP)
    data = f0.data(works_amount=D("95000.00"), safety_costs=D("5000.00"), og1_amount=D("100000.00"))
    with pytest.raises(services.PtimError) as exc:
        services.check_intervention(user=user, data=data, now=NOW)
    assert services.M.A39 in errors_of(exc)
    data = f0.data(works_amount=D("95000.00"), safety_costs=D("4999.99"), og1_amount=D("99999.99"))
    assert services.check_intervention(user=user, data=data, now=NOW).planned == D("99999.99")


def test_sc02_booking_cascade_clearance_filter_residuals(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    assert (c325.progressive, c325.state, c325.membership) == (
        "325",
        ContractState.BOOKED,
        f0.ops["A"],
    )
    assert str(c325.acceptance_deadline) == "2024-03-14"
    r = f0.residuals()
    assert (r["A"], r["MU"], r["AQ"]) == (D("215000"), D("415000"), D("915000"))
    to = sorted(EmailOutbox.objects.values_list("to", flat=True))
    assert to == sorted(
        [
            "mario.bianchi@oopp.example.it",
            "ufficio.tecnico@oopp.example.it",
            "uo.manutenzioni@example.it",
            "dt.lombardia@example.it",
            "referente.aq.lom@example.it",
        ]
    )
    assert not EmailOutbox.objects.filter(to="a@pec.example.it").exists()
    c326 = f0.book("I-2", at=aware(2024, 3, 4, 11, 0))
    assert (c326.progressive, c326.membership, c326.lot.number) == ("326", f0.ops["A"], 1)
    c327 = f0.book("I-3", at=aware(2024, 3, 5, 10, 0))
    assert (c327.progressive, c327.membership, c327.total_amount) == (
        "327",
        f0.ops["B"],
        D("114000"),
    )
    c328 = f0.book("I-4", "C7754", at=aware(2024, 3, 5, 11, 0))
    assert (c328.membership, c328.total_amount) == (f0.ops["C"], D("54500"))
    c329 = f0.book("I-5", at=aware(2024, 3, 5, 12, 0))
    assert (c329.membership, c329.progressive) == (f0.ops["A"], "329")
    assert f0.residuals() == {
        "A": D("53000"),
        "B": D("186000"),
        "C": D("145500"),
        "D": D("200000"),
        "MU": D("139000"),
        "C7754": D("95500"),
        "DIFESA": D("200000"),
        "MIC": D("150000"),
        "AQ": D("584500"),
    }
    # the receipt is a real PDF, rendered after commit
    receipt = Receipt.objects.filter(contract=c325).get()
    assert render_receipt(receipt.pk) is True
    receipt.refresh_from_db()
    assert receipt.file.read(5) == b"%PDF-" and len(receipt.sha256) == 64


def _definitive(f0, key, chapter, total, at, user=None, root=None):
    """A DEFINITIVE contract of operator `key` consuming `total` (fixture helper)."""
    from ptim.models import OperatorBooking
    from ptim.services import _sync_consumption

    user = user or f0.p1
    m = f0.ops[key]
    c = Contract(
        progressive_root=root,
        progressive=str(root),
        agreement=f0.aq,
        lot=f0.aq.lots.get(),
        period=f0.period,
        territorial_area=f0.area,
        contracting_authority=services.sa_organisation(user),
        sa_user_type=services.user_type_of(user),
        created_by=user,
        works_amount=total,
        safety_costs=D(0),
        og1_amount=total,
        og2_amount=D(0),
        og11_amount=D(0),
        planned_amount=total,
        prevalent_amount=total,
        total_amount=total,
        description="x",
        intervention_category=f0.category,
        spending_chapter=f0.chapters[chapter],
        rup_first_name="a",
        rup_last_name="b",
        rup_phone="1",
        rup_email="r@example.it",
        office_name="o",
        office_email="o@example.it",
        membership=m,
        booked_at=at,
        booking_date=at.date(),
        acceptance_deadline=at.date(),
        state=ContractState.DEFINITIVE,
    )
    _sync_consumption(c)
    c.save()
    OperatorBooking.objects.create(
        contract=c, membership=m, booked_at=at, booking_date=at.date(), total_amount=total
    )
    return c


def test_sc03_unavailability_messages(f0):
    at = aware(2024, 3, 1, 9, 0)
    _definitive(f0, "B", "DIFESA", D("160000.00"), at, user=f0.d1, root=300)
    _definitive(f0, "D", "C7754", D("120000.00"), at, root=301)
    r = f0.residuals()
    assert (r["B"], r["D"], r["DIFESA"], r["C7754"], r["AQ"]) == (
        D(140000),
        D(80000),
        D(40000),
        D(30000),
        D(720000),
    )
    # 1: Difesa, chapter residual 40,000 < 51,000 → A-04 verbatim
    with pytest.raises(services.Unavailable) as exc:
        f0.book("I-6", "DIFESA", user=f0.d1, at=aware(2024, 3, 4, 9, 0))
    assert exc.value.message == (
        "In riferimento all’Accordo Quadro con identificativo AQ-MU-2023-L1-LOM, denominato Accordo "  # noqa: E501
        "Quadro Lotto 1 – Lombardia nell’ambito territoriale di Lombardia non è individuabile alcun "  # noqa: E501
        "operatore ad esso associato che possa eseguire l’intervento con importo lavori pianificato "  # noqa: E501
        "pari a euro 63.000,00 da parte della Stazione Appaltante Comando Militare Esercito Lombardia "  # noqa: E501
        "a causa dell’incapienza degli importi disponibili a livello di Accordo quadro. Codesto "
        "Ministero, pertanto, potrà curare direttamente le procedure di selezione degli operatori a "  # noqa: E501
        "cui affidare gli eventuali ulteriori interventi, non ricorrendo in tali casi la sanzione di "  # noqa: E501
        "nullità di cui all’art. 12, comma 7, del citato D.L. n. 98/2011."
    )
    assert (
        exc.value.dt_line
        == "Direzione Territoriale di riferimento: Direzione Territoriale Lombardia – "
        "dt.lombardia@example.it."
    )
    assert AvailabilityShortfall.objects.count() == 1
    assert ProgressiveCounter.objects.get().last_root == 324
    assert not EmailOutbox.objects.exists()
    # 2: Provveditorato on 7754 → A-03, no other operator tried
    with pytest.raises(services.Unavailable) as exc:
        f0.book("I-6", "C7754", at=aware(2024, 3, 4, 9, 0))
    assert (
        "da parte della Stazione Appaltante Provveditorato Interregionale OO.PP. per la "
        "Lombardia e l’Emilia-Romagna a causa" in exc.value.message
    )
    assert exc.value.message.endswith(
        "Si prega, pertanto, di contattare la DT di riferimento al fine di verificare la procedura "
        "necessaria per l’esecuzione dell’intervento."
    )
    # 3: "Corte dei Conti" never offered
    assert "CORTE_DEI_CONTI" not in [
        c.code for c in services.chapters_for(user=f0.p1, agreement=f0.aq)
    ]
    assert Contract.objects.count() == 2


def test_sc03_4_clearance_unavailable_a05(f0):
    import datetime

    f0.ops["C"].operator.clearances.update(annulled_on=datetime.date(2024, 3, 1))
    f0.ops["D"].operator.clearances.update(valid_until=datetime.date(2024, 2, 29))
    iv = services.check_intervention(user=f0.p1, data=f0.data("I-4"), now=aware(2024, 3, 4, 9, 0))
    with pytest.raises(services.Unavailable) as exc:
        services.propose_operator(user=f0.p1, intervention=iv, now=aware(2024, 3, 4, 9, 0))
    assert (
        "in quanto nessun operatore disponibile possiede la classifica NOS/NOSI richiesta "
        "(Segretissimo)." in exc.value.message
    )


def test_sc11_progressive_suffixes():
    assert [suffix(n) for n in (0, 1, 2, 25, 26, 27, 28, 52, 53)] == [
        "",
        "a",
        "b",
        "y",
        "z",
        "a1",
        "b1",
        "z1",
        "a2",
    ]


def test_consistency_check_command_reports_a_tampered_consumption(f0, capsys):
    from django.core.management import CommandError, call_command

    c = f0.book("I-1", at=NOW)
    call_command("ptim_check_residuals")
    assert "Nessuna differenza" in capsys.readouterr().out
    Contract.objects.filter(pk=c.pk).update(consumed_amount=D("1.00"))
    with pytest.raises(CommandError, match="1 differenze"):
        call_command("ptim_check_residuals")
    assert "Contratto n. 325: impegno registrato € 1,00, ricalcolato € 85.000,00" in (
        capsys.readouterr().out
    )
