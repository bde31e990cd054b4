"""Contract configuration by the banditore (spec §8.1 row 23, D-ADE-39): the contract's data,
its documents, the document slots per round and for orders, the expiry and the enabled users,
then publication and closure.

Who: the RUP of the AQ (role AQ_RUP of the issuing organisation) creates a contract; afterwards
the contract's enabled users with `can_evaluate` and platform operators configure it. The slots
(rounds, requirements) and the supplier can change only while the contract is a DRAFT: adhesions
and orders already sent were checked against them. Each service locks the contract, checks,
changes, audits.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from procurement.accounts.access import has_role
from procurement.accounts.models import CostCentre, Organisation, OrganisationKind, Role, User
from procurement.anac.cig import cig_is_valid
from procurement.audit.services import audit_record

from . import messages as M
from .access import is_evaluator
from .models import (
    ContractDocument,
    ContractEnabledUser,
    ContractKind,
    ContractStatus,
    DocumentKind,
    FrameworkContract,
    OrderRequirement,
    RoundRequirement,
)
from .services import USE_DOCUMENT, AdesioniError, _fire, _require, _upload

HYPOTHESES = ("AB", "A", "B")
CONTRACT_DOCUMENT_KINDS = (DocumentKind.CONTRACT_DOCUMENT, DocumentKind.TEMPLATE)
#: Fields that may change after publication (the others shape adhesions and orders).
PUBLISHED_FIELDS = {"title", "description", "support_text", "expiry_at", "suggested_adhesion_end"}
CONTRACT_FIELDS = {
    "kind",
    "title",
    "description",
    "parent_cig",
    "cup",
    "contract_amount",
    "supplier",
    "supplier_members",
    "supplier_pec",
    "issuer_cost_centre",
    "round_count",
    "is_extension",
    "suggested_adhesion_end",
    "expiry_at",
    "support_text",
}


def is_platform_operator(user) -> bool:
    return bool(getattr(user, "is_superuser", False) or getattr(user, "is_staff", False))


def issuer_organisations(user):
    """Organisations for which `user` may create contracts (role RUP dell'accordo quadro)."""
    if is_platform_operator(user):
        return Organisation.objects.filter(is_active=True).exclude(
            kind=OrganisationKind.ECONOMIC_OPERATOR
        )
    from procurement.accounts.access import organisations_of

    return organisations_of(user, roles=[Role.AQ_RUP])


def can_configure(user, contract: FrameworkContract) -> bool:
    return is_platform_operator(user) or is_evaluator(user, contract)


def _lock(user, contract_id, *, states=(ContractStatus.DRAFT, ContractStatus.PUBLISHED)):
    contract = FrameworkContract.objects.select_for_update().filter(pk=contract_id).first()
    _require(contract is not None and can_configure(user, contract))
    if contract.status not in states:
        if contract.status == ContractStatus.CLOSED:
            raise AdesioniError(_("Il contratto è chiuso: la configurazione non è modificabile."))
        raise AdesioniError(
            _(
                "Il contratto è già pubblicato: richieste documenti, round e fornitore non sono "
                "più modificabili."
            )
        )
    return contract


def _audit(user, contract, action, payload=None, now=None, from_state="", to_state=""):
    audit_record(
        action=action,
        actor=user,
        obj=contract,
        organisation=contract.issuer,
        from_state=from_state,
        to_state=to_state,
        payload=payload or {},
        now=now,
    )


# --- contract data ----------------------------------------------------------------------------


def parse_supplier_members(text: str) -> list[dict]:
    """RTI members, one a line: "denominazione; codice fiscale; mandataria|mandante"."""
    members = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        parts = [p.strip() for p in raw.split(";")]
        if len(parts) != 3 or not all(parts):
            raise AdesioniError(
                _(
                    "Riga %(n)s dei componenti RTI: indicare denominazione; codice fiscale; "
                    "mandataria o mandante."
                )
                % {"n": number}
            )
        role = parts[2].lower()
        if role not in ("mandataria", "mandante"):
            raise AdesioniError(
                _("Riga %(n)s dei componenti RTI: il ruolo è «mandataria» o «mandante».")
                % {"n": number}
            )
        members.append(
            {
                "name": parts[0],
                "tax_code": parts[1].upper(),
                "role": "LEAD" if role == "mandataria" else "MEMBER",
            }
        )
    if members and [m["role"] for m in members].count("LEAD") != 1:
        raise AdesioniError(_("Un RTI ha una e una sola mandataria."))
    return members


def format_supplier_members(members) -> str:
    return "\n".join(
        f"{m['name']}; {m['tax_code']}; {'mandataria' if m['role'] == 'LEAD' else 'mandante'}"
        for m in members or []
    )


def _clean(data: dict, *, issuer: Organisation) -> dict:
    data = {k: v for k, v in data.items() if k in CONTRACT_FIELDS}
    if "kind" in data and data["kind"] not in ContractKind.values:
        raise AdesioniError(_("Scegliere accordo quadro o convenzione."))
    if "title" in data:
        data["title"] = " ".join((data["title"] or "").split())
        if not data["title"]:
            raise AdesioniError(_("Indicare l'oggetto del contratto."))
    if "parent_cig" in data:
        data["parent_cig"] = (data["parent_cig"] or "").strip().upper()
        if not cig_is_valid(data["parent_cig"]):
            raise AdesioniError(
                _("Il CIG principale %(cig)s non è valido.") % {"cig": data["parent_cig"]}
            )
    if "contract_amount" in data:
        try:
            amount = Decimal(str(data["contract_amount"]))
        except (InvalidOperation, ValueError) as exc:
            raise AdesioniError(_("Indicare un importo del contratto valido.")) from exc
        if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            raise AdesioniError(_("L'importo del contratto è positivo, al centesimo."))
        data["contract_amount"] = amount
    if "supplier" in data:
        supplier = data["supplier"]
        if supplier is None or supplier.kind != OrganisationKind.ECONOMIC_OPERATOR:
            raise AdesioniError(_("Il fornitore deve essere un operatore economico."))
    if isinstance(data.get("supplier_members"), str):
        data["supplier_members"] = parse_supplier_members(data["supplier_members"])
    if "supplier_pec" in data and not data["supplier_pec"]:
        raise AdesioniError(_("Indicare la PEC del fornitore."))
    centre = data.get("issuer_cost_centre")
    if centre is not None and centre.organisation_id != issuer.pk:
        raise AdesioniError(_("Il centro di costo non appartiene all'amministrazione banditrice."))
    rounds = data.get("round_count", 1)
    if not isinstance(rounds, int) or not 1 <= rounds <= 10:
        raise AdesioniError(_("Il numero di round è compreso tra 1 e 10."))
    expiry = data.get("expiry_at")
    if expiry is not None and timezone.is_naive(expiry):
        data["expiry_at"] = timezone.make_aware(expiry)
    return data


def contract_create(*, user, issuer: Organisation, data: dict, issuer_rup=None, now):
    """A new contract in DRAFT; its RUP (the creator by default) is enabled and evaluates."""
    _require(issuer_organisations(user).filter(pk=issuer.pk).exists())
    issuer_rup = issuer_rup or user
    if not has_role(issuer_rup, Role.AQ_RUP, issuer):
        raise AdesioniError(
            _("Il RUP dell'accordo quadro deve avere il ruolo di RUP dell'accordo quadro.")
        )
    data = _clean(data, issuer=issuer)
    missing = [
        f
        for f in ("kind", "title", "parent_cig", "contract_amount", "supplier", "supplier_pec")
        if not data.get(f)
    ]
    if missing:
        raise AdesioniError(_("Compilare i campi obbligatori del contratto."))
    with transaction.atomic():
        contract = FrameworkContract.objects.create(issuer=issuer, issuer_rup=issuer_rup, **data)
        ContractEnabledUser.objects.create(contract=contract, user=issuer_rup, can_evaluate=True)
        _audit(
            user,
            contract,
            "contratto creato",
            {"cig": contract.parent_cig, "title": contract.title},
            now,
            to_state=contract.status,
        )
    return contract


def contract_update(*, user, contract_id, data: dict, now) -> FrameworkContract:
    with transaction.atomic():
        contract = _lock(user, contract_id)
        data = _clean(data, issuer=contract.issuer)
        if contract.status != ContractStatus.DRAFT:
            changed = {k for k, v in data.items() if getattr(contract, k) != v}
            if changed - PUBLISHED_FIELDS:
                raise AdesioniError(
                    _(
                        "Il contratto è già pubblicato: si possono modificare solo oggetto, "
                        "descrizione, assistenza e scadenze."
                    )
                )
        if "round_count" in data:
            used = contract.round_requirements.filter(round_no__gte=data["round_count"])
            if used.exists():
                raise AdesioniError(
                    _("Eliminare prima le richieste documenti dei round che si vogliono togliere.")
                )
        for key, value in data.items():
            setattr(contract, key, value)
        contract.save()
        _audit(
            user,
            contract,
            "configurazione del contratto modificata",
            {k: str(v) for k, v in data.items() if k != "supplier_members"},
            now,
        )
    return contract


def contract_set_expiry(*, user, contract_id, expiry_at, now) -> FrameworkContract:
    """The accordion "SCADENZA" (D-ADE-38): None means "Non definita"."""
    with transaction.atomic():
        contract = _lock(user, contract_id)
        if expiry_at is not None and timezone.is_naive(expiry_at):
            expiry_at = timezone.make_aware(expiry_at)
        before = contract.expiry_at
        contract.expiry_at = expiry_at
        contract.save(update_fields=["expiry_at", "updated_at"])
        _audit(
            user,
            contract,
            "scadenza del contratto impostata",
            {"da": before, "a": expiry_at},
            now,
        )
    return contract


# --- documents --------------------------------------------------------------------------------


def contract_document_add(
    *, user, contract_id, kind: str, title: str, uploaded_file, now
) -> ContractDocument:
    """A document of "DOCUMENTAZIONE ALLEGATA" (contract document or template)."""
    title = " ".join((title or "").split())
    if not title:
        raise AdesioniError(_("Indicare il titolo del documento."))
    if kind not in CONTRACT_DOCUMENT_KINDS:
        raise AdesioniError(_("Tipo di documento non valido."))
    if uploaded_file is None:
        raise AdesioniError(_("Selezionare il file da caricare."))
    with transaction.atomic():
        contract = _lock(user, contract_id)
        version = _upload(
            user=user,
            organisation=contract.issuer,
            use=USE_DOCUMENT,
            title=f"{title} – {contract.parent_cig}",
            uploaded_file=uploaded_file,
            now=now,
            signed=False,
        )
        position = contract.documents.count()
        document = ContractDocument.objects.create(
            contract=contract, kind=kind, title=title[:255], version=version, position=position
        )
        _audit(
            user,
            contract,
            "documento del contratto allegato",
            {"title": title, "sha256": version.sha256},
            now,
        )
    return document


def contract_document_remove(*, user, contract_id, document_id, now) -> None:
    """The row goes; the stored file stays (originals are never deleted)."""
    with transaction.atomic():
        contract = _lock(user, contract_id)
        document = contract.documents.filter(pk=document_id).first()
        _require(document is not None)
        title = document.title
        document.delete()
        _audit(user, contract, "documento del contratto rimosso", {"title": title}, now)


# --- document slots ---------------------------------------------------------------------------


def requirement_save(
    *,
    user,
    contract_id,
    scope: str,
    code: str,
    label: str,
    document_kind: str,
    hypotheses: str = "AB",
    mandatory: bool = True,
    signature_required: bool = False,
    round_no: int = 0,
    requirement_id=None,
    now,
):
    """Add or edit a slot: `scope` "round" (RICHIESTE DOCUMENTI PER ADESIONE – ROUND n) or
    "order" (RICHIESTE PER ORDINATIVI FORNITURA). Only while the contract is a DRAFT."""
    code = (code or "").strip().upper()
    label = " ".join((label or "").split())
    if not code or not label:
        raise AdesioniError(_("Indicare codice e descrizione della richiesta."))
    if document_kind not in DocumentKind.values or document_kind in CONTRACT_DOCUMENT_KINDS:
        raise AdesioniError(_("Tipo di documento non valido."))
    if hypotheses not in HYPOTHESES:
        raise AdesioniError(_("Indicare a quali ipotesi si applica la richiesta."))
    _require(scope in ("round", "order"))
    with transaction.atomic():
        contract = _lock(user, contract_id, states=(ContractStatus.DRAFT,))
        fields = {
            "code": code[:20],
            "label": label[:255],
            "document_kind": document_kind,
            "hypotheses": hypotheses,
            "mandatory": bool(mandatory),
            "signature_required": bool(signature_required),
        }
        if scope == "round":
            if not isinstance(round_no, int) or not 0 <= round_no < contract.round_count:
                raise AdesioniError(
                    _("Il round deve essere compreso tra 0 e %(last)s.")
                    % {"last": contract.round_count - 1}
                )
            model, extra = RoundRequirement, {"round_no": round_no}
        else:
            model, extra = OrderRequirement, {}
        try:
            with transaction.atomic():
                if requirement_id:
                    requirement = model.objects.get(pk=requirement_id, contract=contract)
                    for key, value in {**fields, **extra}.items():
                        setattr(requirement, key, value)
                    requirement.save()
                else:
                    siblings = model.objects.filter(contract=contract, **extra)
                    requirement = model.objects.create(
                        contract=contract, position=siblings.count(), **fields, **extra
                    )
        except model.DoesNotExist as exc:
            raise AdesioniError(str(M.MSG_D20)) from exc
        except IntegrityError as exc:
            raise AdesioniError(
                _("Esiste già una richiesta con il codice %(code)s.") % {"code": code}
            ) from exc
        _audit(
            user,
            contract,
            "richiesta documenti salvata",
            {"scope": scope, **fields, **extra},
            now,
        )
    return requirement


def requirement_delete(*, user, contract_id, scope: str, requirement_id, now) -> None:
    _require(scope in ("round", "order"))
    with transaction.atomic():
        contract = _lock(user, contract_id, states=(ContractStatus.DRAFT,))
        model = RoundRequirement if scope == "round" else OrderRequirement
        requirement = model.objects.filter(pk=requirement_id, contract=contract).first()
        _require(requirement is not None)
        code = requirement.code
        requirement.delete()
        _audit(user, contract, "richiesta documenti eliminata", {"scope": scope, "code": code}, now)


# --- enabled users ----------------------------------------------------------------------------


def enabled_user_candidates(contract: FrameworkContract):
    """Users of the issuing organisation (optionally of its cost centre) that can be enabled."""
    from procurement.accounts.models import Membership

    memberships = Membership.objects.active().filter(organisation=contract.issuer)
    return User.objects.filter(pk__in=memberships.values("user_id")).order_by(
        "last_name", "first_name", "username"
    )


def enabled_user_cost_centres(contract: FrameworkContract):
    """The banditore's cost centres an enabled user may be tied to."""
    return CostCentre.objects.filter(organisation=contract.issuer).order_by("code")


def _covers_cost_centre(target_user, contract: FrameworkContract, cost_centre) -> bool:
    from procurement.accounts.models import Membership

    memberships = Membership.objects.active().filter(user=target_user, organisation=contract.issuer)
    return memberships.filter(Q(cost_centre__isnull=True) | Q(cost_centre=cost_centre)).exists()


def enabled_user_set(
    *, user, contract_id, target_user, can_evaluate: bool, now, cost_centre=None
) -> ContractEnabledUser:
    """ "UTENTI ABILITATI AD OPERARE SULLA PROCEDURA": add a user or change CdC / `can_evaluate`.

    The CdC (spec §3.3 `ContractEnabledUser.cost_centre`) must be one of the banditore's and one
    the user belongs to (a membership of the whole administration or of that CdC): the user then
    acts for the banditore as that CdC, and only while such a membership lasts.
    """
    with transaction.atomic():
        contract = _lock(user, contract_id)
        if not enabled_user_candidates(contract).filter(pk=target_user.pk).exists():
            raise AdesioniError(_("L'utente non appartiene all'amministrazione banditrice."))
        if target_user.pk == contract.issuer_rup_id and not can_evaluate:
            raise AdesioniError(_("Il RUP dell'accordo quadro valuta sempre adesioni e ordini."))
        if cost_centre is not None:
            if cost_centre.organisation_id != contract.issuer_id:
                raise AdesioniError(
                    _("Il centro di costo non appartiene all'amministrazione banditrice.")
                )
            if not _covers_cost_centre(target_user, contract, cost_centre):
                raise AdesioniError(_("L'utente non opera per il centro di costo indicato."))
        enabled, _created = ContractEnabledUser.objects.update_or_create(
            contract=contract,
            user=target_user,
            defaults={"can_evaluate": bool(can_evaluate), "cost_centre": cost_centre},
        )
        _audit(
            user,
            contract,
            "utente abilitato sul contratto",
            {
                "user": target_user.username,
                "can_evaluate": bool(can_evaluate),
                "cost_centre": cost_centre.code if cost_centre is not None else None,
            },
            now,
        )
    return enabled


def enabled_user_remove(*, user, contract_id, enabled_id, now) -> None:
    with transaction.atomic():
        contract = _lock(user, contract_id)
        enabled = contract.enabled_users.filter(pk=enabled_id).select_related("user").first()
        _require(enabled is not None)
        if enabled.user_id == contract.issuer_rup_id:
            raise AdesioniError(_("Il RUP dell'accordo quadro non può essere rimosso."))
        username = enabled.user.username
        enabled.delete()
        _audit(user, contract, "utente non più abilitato sul contratto", {"user": username}, now)


# --- publication and closure ------------------------------------------------------------------


def publication_problems(contract: FrameworkContract, now) -> list[str]:
    problems = []
    for round_no in range(contract.round_count):
        if not contract.round_requirements.filter(round_no=round_no, mandatory=True).exists():
            problems.append(
                _("Configurare almeno un documento obbligatorio per il round %(n)s.")
                % {"n": round_no}
            )
    for hypothesis in ("A", "B"):
        reqs = contract.round_requirements.filter(round_no=0)
        if reqs.filter(hypotheses__contains=hypothesis).exists():
            orders = contract.order_requirements.filter(
                hypotheses__contains=hypothesis, mandatory=True
            )
            if not orders.exists():
                problems.append(
                    _(
                        "Configurare l'atto di adesione tra le richieste per ordinativi "
                        "(ipotesi %(h)s)."
                    )
                    % {"h": hypothesis}
                )
    if contract.is_expired(now):
        problems.append(_("La scadenza del contratto è già passata."))
    return problems


def contract_publish(*, user, contract_id, now) -> FrameworkContract:
    """Visible to the aderenti from now on."""
    with transaction.atomic():
        contract = _lock(user, contract_id, states=(ContractStatus.DRAFT,))
        problems = publication_problems(contract, now)
        if problems:
            raise AdesioniError(" ".join(problems))
        _fire(contract, "publish")
        contract.published_at = now
        contract.save()
        _audit(
            user,
            contract,
            "contratto pubblicato",
            {},
            now,
            from_state=ContractStatus.DRAFT,
            to_state=contract.status,
        )
    return contract


def contract_close(*, user, contract_id, now) -> FrameworkContract:
    """Closed: no new adhesions or orders; Comunicazioni read-only (D-ADE-28)."""
    with transaction.atomic():
        contract = _lock(user, contract_id, states=(ContractStatus.PUBLISHED,))
        _fire(contract, "close")
        contract.closed_at = now
        contract.save()
        _audit(
            user,
            contract,
            "contratto chiuso",
            {},
            now,
            from_state=ContractStatus.PUBLISHED,
            to_state=contract.status,
        )
    return contract


def cost_centres_of(issuer: Organisation):
    return CostCentre.objects.filter(organisation=issuer).order_by("name")
