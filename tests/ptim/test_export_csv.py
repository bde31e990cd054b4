"""The CSV export of the contract search (R-PTIM-138, D-49): the exact file a user downloads,
variations included (annulled ones do not count), and a number of queries that does not grow
with the rows exported."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ptim import services
from ptim.models import VariationKind
from tests.factories.kernel import aware

from .conftest import D, pdf
from .test_booking import _definitive

pytestmark = pytest.mark.django_db

HEADER = (
    "Progressivo;Data di prenotazione;Stazione Appaltante;Accordo Quadro;Lotto;"
    "Ambito territoriale;Operatore;Stato;Importo dei lavori pianificato;"
    "Importo complessivo dell’appalto;Importo complessivo dell’appalto + varianti;"
    "Capitolo di spesa;Identificativo MU/intervento;RUP/Referente"
)


@pytest.fixture
def contracts(f0):
    c325 = f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    f0.book("I-2", at=aware(2024, 3, 4, 11, 0))
    f0.book("I-3", at=aware(2024, 3, 5, 10, 0), rup_last_name="Neri")
    f0.book("I-4", "C7754", at=aware(2024, 3, 5, 11, 0))
    services.annul_contract(
        user=f0.t1, contract_id=c325.pk, reason="Errato inserimento", now=aware(2024, 3, 6, 9)
    )
    services.rebook_operator(
        user=f0.p1, progressive="325", measured_basis_confirmed=True, now=aware(2024, 3, 6, 10)
    )
    varied = _definitive(f0, "A", "MU", D("20000.00"), aware(2024, 3, 4, 9), root=500)
    for n, works in enumerate((D("100.00"), D("250.50"), D("40.00"))):
        services.add_variation(
            user=f0.p1,
            contract_id=varied.pk,
            kind=VariationKind.VARIANT,
            description=f"variante {n}",
            works_amount=works,
            non_discounted_amount=D(0),
            documents=[pdf(f"v{n}.pdf")],
            now=aware(2024, 6, 10 + n),
        )
    last = varied.variations.order_by("pk").last()
    services.annul_variation(
        user=f0.t1, variation_id=last.pk, note="Inserita per errore", now=aware(2024, 6, 20)
    )
    return varied


def export(client, **params) -> str:
    response = client.get(reverse("ptim:contract-export"), params)
    assert response.status_code == 200
    assert response.streaming  # rows are written as they are read, not built in memory
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="contratti-ptim.csv"'
    return b"".join(response.streaming_content).decode("utf-8")


def test_the_export_is_the_file_users_already_download(f0, contracts, client_for):
    text = export(client_for(f0.p1))
    assert text == EXPECTED


def test_the_queries_do_not_grow_with_the_rows(f0, client_for):
    client = client_for(f0.p1)
    f0.book("I-1", at=aware(2024, 3, 4, 9, 0))
    with CaptureQueriesContext(connection) as one:
        assert len(export(client).splitlines()) == 2
    for n in range(2, 7):
        f0.book(f"I-{n}", at=aware(2024, 3, 4, 9, n))
    with CaptureQueriesContext(connection) as six:
        assert len(export(client).splitlines()) == 7
    assert len(six.captured_queries) == len(one.captured_queries)


# Before the export stopped computing a subquery per row: the same bytes, row by row.
COMMON = (
    "Provveditorato Interregionale OO.PP. per la Lombardia e l’Emilia-Romagna;"
    "AQ-MU-2023-L1-LOM;Lotto 1;Lombardia;"
)
EXPECTED_ROWS = [
    f"500;04/03/2024;{COMMON}Alfa Costruzioni S.r.l.;Definitivo;"
    "20.000,00;20.000,00;20.280,40;M.U. (7753 e 3905);;a b",
    f"328;05/03/2024;{COMMON}Gamma Restauri S.r.l.;Prenotato;"
    "62.000,00;54.500,00;54.500,00;7754;;Mario Bianchi",
    f"327;05/03/2024;{COMMON}Beta Edilizia S.p.A.;Prenotato;"
    "126.000,00;114.000,00;114.000,00;M.U. (7753 e 3905);MU-23-0003;Mario Neri",
    f"326;04/03/2024;{COMMON}Alfa Costruzioni S.r.l.;Prenotato;"
    "150.000,00;122.000,00;122.000,00;M.U. (7753 e 3905);MU-23-0002;Mario Bianchi",
    f"325a;06/03/2024;{COMMON}Alfa Costruzioni S.r.l.;Prenotato;"
    "105.000,00;85.000,00;85.000,00;M.U. (7753 e 3905);MU-23-0001;Mario Bianchi",
    f"325;04/03/2024;{COMMON}Alfa Costruzioni S.r.l.;Annullato;"
    "105.000,00;85.000,00;85.000,00;M.U. (7753 e 3905);MU-23-0001;Mario Bianchi",
]
EXPECTED = "\ufeff" + "".join(f"{row}\r\n" for row in [HEADER, *EXPECTED_ROWS])
