"""The reference scheme: Bellinzago Novarese, CIG BC276A8439 (disciplinare §18, spec Appendix A)."""

from __future__ import annotations

from decimal import Decimal as D

from gare.evaluation.scheme import (
    AnomalyRule,
    Band,
    Criterion,
    EvaluationScheme,
    JudgementLevel,
    LotAmounts,
    QuantitativeRule,
    Reparametrisation,
    Rounding,
    RoundingRule,
    TabularRule,
    TieBreak,
)

REFERENCE_CODE = "bellinzago-2026"

JUDGEMENT_SCALE = (
    ("0.0", "Assente - completamente negativo"),
    ("0.1", "Quasi del tutto assente - quasi completamente negativo"),
    ("0.2", "Negativo"),
    ("0.3", "Gravemente insufficiente"),
    ("0.4", "Insufficiente"),
    ("0.5", "Appena sufficiente"),
    ("0.6", "Sufficiente"),
    ("0.7", "Discreto"),
    ("0.8", "Buono"),
    ("0.9", "Ottimo"),
    ("1.0", "Eccellente"),
)

# [§18.1 D2]: the closed list of 13 work–life balance tools.
D2_TOOLS = (
    "Asilo nido aziendale territoriale convenzionato inclusivo",
    "Misure di flessibilità oraria in entrata/uscita (roll up)",
    "Telelavoro o smart working",
    "Part time, aspettativa per motivi personali",
    "Integrazione economica a congedi parentali",
    "Benefit di cura per infanzia e anziani/disabili non autosufficienti e loro familiari",
    (
        "Sportello informativo su non discriminazione/pari opportunità/inclusione persone "
        "con disabilità"
    ),
    "Forme di comunicazione esterna e interna o aziendale (intranet) accessibile",
    "Formazione su pari opportunità, non discriminazione e inclusione delle persone con disabilità",
    "Adesione a network territoriali per la parità",
    "Figura aziendale per le politiche anti discriminatorie (es. diversity manager)",
    "Accomodamenti ragionevoli per l'inclusione delle persone sorde (servizi-ponte)",
    "Servizi di sicurezza sul lavoro rivolti alle persone con disabilità",
)


def _disc(code: str, title: str, max_points: str, guidance: str = "") -> Criterion:
    return Criterion(
        code=code,
        title=title,
        max_points=D(max_points),
        kind="DISCRETIONARY",
        method="AVERAGE_OF_COMMISSIONER_COEFFICIENTS",
        guidance_ref=guidance,
    )


def _boolean(code: str, title: str) -> Criterion:
    return Criterion(
        code=code,
        title=title,
        max_points=D(3),
        kind="TABULAR",
        tabular=TabularRule(type="BOOLEAN", yes_points=D(3), no_points=D(0)),
    )


def reference_scheme() -> EvaluationScheme:
    """The RC scheme exactly as the disciplinare [§18] with the spec's decisions D-13…D-19."""
    criteria = (
        Criterion(
            code="A",
            title=(
                "Organigramma aziendale impresa. Personale dipendente e mezzi d'opera di proprietà"
            ),
            max_points=D(20),
            kind="GROUP",
            children=(
                _disc("A1", "Sistema di gestione aziendale e certificazioni", "6"),
                Criterion(
                    code="A2",
                    title="Lavori affini (max 3)",
                    max_points=D(8),
                    kind="TABULAR",
                    tabular=TabularRule(
                        type="COUNT_BANDS",
                        count_cap=3,
                        bands=(
                            Band(D(0), D(0), D(0)),  # D-15: 0 works → 0 points
                            Band(D(1), D(1), D(1)),
                            Band(D(2), D(2), D(5)),
                            Band(D(3), D(3), D(8)),
                        ),
                    ),
                ),
                _disc(
                    "A3", "Organigramma per lo specifico lavoro e mezzi d'opera di proprietà", "6"
                ),
            ),
        ),
        Criterion(
            code="B",
            title="Criteri premiali di cui al D.M. 23 giugno 2022 n. 256 (CAM)",
            max_points=D(8),
            kind="GROUP",
            children=(
                _disc("B1", "Relazione CAM", "4", "§18.2 d)"),
                _disc("B2", "CAM – criteri premiali per l'affidamento dei lavori", "4", "§18.2 e)"),
            ),
        ),
        Criterion(
            code="C",
            title="Migliorie prestazionali dell'edificio",
            max_points=D(42),
            kind="GROUP",
            children=(
                _disc(
                    "C1", "Miglioramento energetico dell'involucro (anche schermature solari)", "6"
                ),
                _disc(
                    "C2",
                    "Miglioramento della sicurezza dell'edificio (anche rilevazione fumi)",
                    "12",
                ),
                _disc("C3", "Miglioramento acustico", "6"),
                _disc(
                    "C4",
                    "Maggiore efficienza e resa dei moduli fotovoltaici a parità di superficie",
                    "12",
                ),
                _disc(
                    "C5",
                    "Ulteriore miglioramento per un più elevato livello di utilizzo del fabbricato",
                    "6",
                ),
            ),
        ),
        Criterion(
            code="D",
            title="Criteri premiali ex art. 47, commi 4 e 5, D.L. 77/2021 (L. 108/2021)",
            max_points=D(10),
            kind="GROUP",
            children=(
                _boolean("D1", "Certificazione SA 8000 o equivalente"),
                Criterion(
                    code="D2",
                    title="Strumenti di conciliazione vita-lavoro",
                    max_points=D(4),
                    kind="TABULAR",
                    tabular=TabularRule(
                        type="COUNT_BANDS",
                        closed_list=D2_TOOLS,
                        closed_list_size=len(D2_TOOLS),
                        bands=(
                            Band(D(0), D(2), D(0)),  # meno di 3 strumenti
                            Band(D(3), D(3), D(2)),  # 3 strumenti
                            Band(D(4), None, D(4)),  # oltre 3 strumenti
                        ),
                    ),
                ),
                _boolean(
                    "D3",
                    "Assenza di verbali di conciliazione per discriminazione di genere (3 anni)",
                ),
            ),
        ),
        Criterion(
            code="E",
            title="Offerta economica",
            max_points=D(20),
            kind="GROUP",
            side="ECONOMIC",
            children=(
                Criterion(
                    code="E1",
                    title="Ribasso percentuale su € 1.619.952,10",
                    max_points=D(15),
                    kind="QUANTITATIVE",
                    side="ECONOMIC",
                    quantitative=QuantitativeRule(
                        variable="discount_pct",
                        better="HIGHER",
                        formula="RATIO_TO_BEST",
                        min=D("0.00"),
                        max_exclusive=D("100.00"),
                        decimals=2,
                        excess_decimals="TRUNCATE",  # D-11
                        zero_best="ALL_ZERO",  # D-16
                    ),
                ),
                Criterion(
                    code="E2",
                    title="Durata dei lavori (giorni) non superiore a 458",
                    max_points=D(5),
                    kind="QUANTITATIVE",
                    side="ECONOMIC",
                    quantitative=QuantitativeRule(
                        variable="duration_days",
                        better="LOWER",
                        formula="BEST_OVER_VALUE",
                        min=D(1),
                        max=D(458),  # D-12: 458 accepted, more is inadmissible
                        integer=True,
                        zero_best="ALL_ZERO",
                    ),
                ),
            ),
        ),
    )
    return EvaluationScheme(
        code=REFERENCE_CODE,
        title=(
            "ID 20/2026 – SUA Provincia di Novara per il Comune di Bellinzago Novarese "
            "(CIG BC276A8439): nuova sede municipale e piazza"
        ),
        technical_max=D(80),
        economic_max=D(20),
        criteria=criteria,
        judgement_scale=tuple(JudgementLevel(D(v), label) for v, label in JUDGEMENT_SCALE),
        commissioners=3,
        reparametrisation=Reparametrisation(
            first="CRITERION", second="NONE", applies_to=("DISCRETIONARY",)
        ),
        rounding=Rounding(
            points=RoundingRule(2, "HALF_UP"), coefficients=None, display_coefficients_dp=4
        ),
        threshold=None,
        tie_break_chain=(
            TieBreak("TOTAL_DESC"),
            TieBreak("TECHNICAL_DESC"),
            TieBreak("IMPROVEMENT_OFFER", variable="discount_pct", days=5),
            TieBreak("DRAW"),
        ),
        tie_resolution_scope="FIRST_PLACE",
        anomaly=AnomalyRule(),
        amounts=LotAmounts(
            works_amount=D("1619952.10"),
            safety_costs=D("38293.04"),
            labour_cost_estimate=D("598695.55"),
        ),
    )


SCHEME_CODES = {REFERENCE_CODE: reference_scheme}
