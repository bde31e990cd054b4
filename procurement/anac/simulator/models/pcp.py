"""State of the simulated PCP: appalti, their lots and CIGs, schede, avvisi, async outcomes.

Codes are those of ANAC's code lists (specs/tipologiche): statoAppalto, statoLotto, statoScheda,
statoAvviso, tipoOperazione, esito.
"""

from __future__ import annotations

import uuid

from django.db import models, transaction
from django.utils import timezone

from ...cig import cig_generate


class SimCigCounter(models.Model):
    """The last CIG progressive handed out (one row, pk=1), locked while CIGs are assigned."""

    value = models.BigIntegerField(default=0)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"CIG progressive {self.value}"

    @classmethod
    def next_cigs(cls, count: int) -> list[str]:
        """`count` new PCP-format CIGs. The row lock serialises concurrent confirmations."""
        with transaction.atomic():
            cls.objects.get_or_create(pk=1)
            counter = cls.objects.select_for_update().get(pk=1)
            first = counter.value + 1
            counter.value += count
            counter.save(update_fields=["value"])
        # Series "S" (for Simulatore) keeps simulated CIGs apart from the published examples.
        return [cig_generate(n, first_letter="S") for n in range(first, first + count)]


class SimAppalto(models.Model):
    id_appalto = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    codice_appalto = models.CharField(max_length=128, unique=True)
    # _idScheda of the scheda of the appalto (crea-appalto / modifica-appalto replace it).
    id_scheda = models.UUIDField(default=uuid.uuid4)
    ausa = models.CharField(max_length=20, blank=True)
    user_codice_fiscale = models.CharField(max_length=32, blank=True)
    stato = models.CharField(max_length=16, default="IN_LAV")
    scheda = models.JSONField(default=dict)  # SchedaComunicaAppaltoType as received
    created = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"Appalto {self.codice_appalto} ({self.stato})"

    @property
    def codice_scheda(self) -> str:
        return str((self.scheda.get("codice") or {}).get("codice") or "")

    @property
    def anac_form(self) -> dict:
        body = self.scheda.get("body") or {}
        form = body.get("anacForm") if isinstance(body, dict) else None
        return form if isinstance(form, dict) else {}

    @property
    def oggetto(self) -> str:
        appalto = self.anac_form.get("appalto") or {}
        return str((appalto.get("datiBase") or {}).get("oggetto") or "")

    def lot_identifiers(self) -> list[str]:
        """lotIdentifier of each lot: `lotti` (schede with notice), `aggiudicazioni` (AD*)."""
        form = self.anac_form
        rows = (form.get("lotti") or []) + (form.get("aggiudicazioni") or [])
        return [str(row.get("lotIdentifier") or "") for row in rows if isinstance(row, dict)]


class SimLot(models.Model):
    """A lot of a confirmed appalto with the CIG PCP assigned to it."""

    appalto = models.ForeignKey(SimAppalto, on_delete=models.CASCADE, related_name="lots")
    lot_identifier = models.CharField(max_length=64)
    cig = models.CharField(max_length=10, unique=True)
    stato = models.CharField(max_length=16, default="CONF")  # statoLotto
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"
        constraints = [
            models.UniqueConstraint(
                fields=["appalto", "lot_identifier"], name="anac_sim_lot_identifier_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lot_identifier} {self.cig}"


SimCig = SimLot


class SimScheda(models.Model):
    """A post-publication scheda (crea-scheda)."""

    id_scheda = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appalto = models.ForeignKey(SimAppalto, on_delete=models.CASCADE, related_name="schede")
    codice = models.CharField(max_length=16)  # codiceScheda, e.g. ANN
    versione = models.CharField(max_length=16, default="1.0")
    stato = models.CharField(max_length=8, default="IN_LAV")  # statoScheda
    body = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now)
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"Scheda {self.codice} ({self.stato})"


class SimAvviso(models.Model):
    id_avviso = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    appalto = models.ForeignKey(SimAppalto, on_delete=models.CASCADE, related_name="avvisi")
    stato = models.CharField(max_length=16, default="CREATO")  # statoAvviso
    modified = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"Avviso {self.id_avviso} ({self.stato})"


class SimEsito(models.Model):
    """The outcome of an asynchronous operation (AP_CONF, SC_CONF, ...).

    It reads WT until `resolves_at` (never when null), then `outcome`. The effects of the outcome
    (CIGs, states) are applied once, by the first request that finds it due (`applied`).
    """

    appalto = models.ForeignKey(SimAppalto, on_delete=models.CASCADE, related_name="esiti")
    scheda = models.ForeignKey(
        SimScheda, on_delete=models.CASCADE, null=True, blank=True, related_name="esiti"
    )
    tipo_operazione = models.CharField(max_length=32)  # tipoOperazione
    outcome = models.CharField(max_length=2)  # final esito: OK or KO
    errori = models.JSONField(default=list)  # [{codice, dettaglio}] when KO
    id_avviso = models.UUIDField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)
    resolves_at = models.DateTimeField(null=True, blank=True)
    applied = models.BooleanField(default=False)

    class Meta:
        app_label = "anac_simulator"
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.tipo_operazione} {self.outcome}"

    def esito_at(self, now) -> str:
        if self.resolves_at is None or self.resolves_at > now:
            return "WT"
        return self.outcome


class SimPcpFault(models.Model):
    """A scripted ANAC refusal: the next matching call answers with these `errori`.

    Tests and demos tell the simulator which error to return, per operation and optionally per
    appalto (`codice_appalto`) or per cost centre sent in `stazioniAppaltanti[].codiceCentroCosto`
    (e.g. ERR69 "centro di costo non coerente con l'anagrafe AUSA" for one code only).
    Asynchronous operations (conferma-appalto, conferma-scheda) end KO in esito-operazione with
    these errori; synchronous ones answer `http_status` with an ErrorResponse. `remaining` is the
    number of uses left (null: every matching call).
    """

    operation = models.CharField(max_length=32)  # e.g. "conferma-appalto", "crea-scheda"
    codice_appalto = models.CharField(max_length=128, blank=True)
    codice_centro_costo = models.CharField(max_length=64, blank=True)
    errori = models.JSONField(default=list)  # [{"codice": "ERR69", "dettaglio": "..."}]
    http_status = models.PositiveSmallIntegerField(default=400)
    remaining = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "anac_simulator"
        ordering = ["pk"]

    def __str__(self) -> str:
        codes = ", ".join(str(e.get("codice")) for e in self.errori)
        return f"{self.operation}: {codes}"
