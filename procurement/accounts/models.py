"""Users, organisations, cost centres, memberships with roles, strong-authentication sessions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum.it import codicefiscale, iva


def validate_person_tax_code(value: str) -> None:
    """A natural person's codice fiscale (16 characters, with check character)."""
    if not codicefiscale.is_valid(value) or len(codicefiscale.compact(value)) != 16:
        raise ValidationError(_("Codice fiscale non valido: %(value)s"), params={"value": value})


def validate_organisation_tax_code(value: str) -> None:
    """An organisation's codice fiscale: 11 digits (as a VAT number) or, rarely, 16 characters."""
    compact = codicefiscale.compact(value)
    if len(compact) == 11 and iva.is_valid(compact):
        return
    if len(compact) == 16 and codicefiscale.is_valid(compact):
        return
    raise ValidationError(
        _("Codice fiscale dell'ente non valido: %(value)s"), params={"value": value}
    )


def validate_vat_number(value: str) -> None:
    if not iva.is_valid(value):
        raise ValidationError(_("Partita IVA non valida: %(value)s"), params={"value": value})


class Role(models.TextChoices):
    BUYER = "buyer", _("Punto ordinante")
    RUP = "rup", _("RUP")
    AQ_RUP = "aq_rup", _("RUP dell'accordo quadro")
    FVOE = "fvoe", _("Profilo FVOE")
    OPERATOR = "operator", _("Utente operatore economico")
    DT = "dt", _("Utente Direzione Territoriale")
    DG = "dg", _("Utente Direzione Generale")
    COMMISSIONER = "commissioner", _("Commissario di gara")
    BOARD = "board", _("Componente del seggio di gara")
    ADMIN = "admin", _("Amministratore")


class PlatformUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person using the platform; the tax code identifies them to SPID/CIE and to ANAC."""

    tax_code = models.CharField(
        _("codice fiscale"),
        max_length=16,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_person_tax_code],
        help_text=_("Obbligatorio per l'accesso con SPID/CIE e per le operazioni verso ANAC."),
    )
    phone = models.CharField(_("telefono"), max_length=30, blank=True)

    objects = PlatformUserManager()

    class Meta:
        verbose_name = _("utente")
        verbose_name_plural = _("utenti")
        ordering = ["last_name", "first_name", "username"]

    def clean(self) -> None:
        super().clean()
        if self.tax_code:
            self.tax_code = codicefiscale.compact(self.tax_code)

    def save(self, *args, **kwargs) -> None:
        if self.tax_code:
            self.tax_code = codicefiscale.compact(self.tax_code)
        else:
            self.tax_code = None
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.get_full_name() or self.username


class OrganisationKind(models.TextChoices):
    CONTRACTING_AUTHORITY = "sa", _("Stazione appaltante")
    CENTRAL_PURCHASING_BODY = "cdc", _("Centrale di committenza")
    ECONOMIC_OPERATOR = "oe", _("Operatore economico")
    PLATFORM = "platform", _("Gestore della piattaforma")


class Organisation(models.Model):
    code = models.SlugField(
        _("codice"), max_length=50, unique=True, help_text=_("Codice breve, unico.")
    )
    name = models.CharField(_("denominazione"), max_length=255)
    kind = models.CharField(_("tipologia"), max_length=10, choices=OrganisationKind.choices)
    tax_code = models.CharField(
        _("codice fiscale"),
        max_length=16,
        blank=True,
        validators=[validate_organisation_tax_code],
    )
    vat_number = models.CharField(
        _("partita IVA"), max_length=11, blank=True, validators=[validate_vat_number]
    )
    ausa_code = models.CharField(
        _("codice AUSA"),
        max_length=10,
        blank=True,
        help_text=_("Codice dell'Anagrafe Unica delle Stazioni Appaltanti (ANAC)."),
    )
    territorial_scope = models.CharField(
        _("ambito territoriale"),
        max_length=255,
        blank=True,
        help_text=_("Ad esempio: Regione Toscana, Provincia di Novara, nazionale."),
    )
    pec = models.EmailField(_("PEC"), blank=True)
    address = models.CharField(_("indirizzo"), max_length=255, blank=True)
    is_active = models.BooleanField(_("attiva"), default=True)
    created_at = models.DateTimeField(_("creata il"), auto_now_add=True)

    class Meta:
        verbose_name = _("organizzazione")
        verbose_name_plural = _("organizzazioni")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Upper("tax_code"),
                condition=~models.Q(tax_code=""),
                name="organisation_tax_code_unique",
                violation_error_message=_(
                    "Esiste già un'organizzazione con questo codice fiscale."
                ),
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if self.kind == OrganisationKind.ECONOMIC_OPERATOR and not (
            self.tax_code or self.vat_number
        ):
            raise ValidationError(
                _("Un operatore economico deve avere codice fiscale o partita IVA.")
            )

    def __str__(self) -> str:
        return self.name


class CostCentre(models.Model):
    """An office or cost centre of an organisation (e.g. a Direzione Territoriale)."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="cost_centres",
        verbose_name=_("organizzazione"),
    )
    code = models.CharField(_("codice"), max_length=50)
    name = models.CharField(_("denominazione"), max_length=255)
    ausa_code = models.CharField(_("codice AUSA"), max_length=10, blank=True)
    territorial_scope = models.CharField(_("ambito territoriale"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("ufficio / centro di costo")
        verbose_name_plural = _("uffici / centri di costo")
        ordering = ["organisation__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "code"], name="cost_centre_code_unique_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})"


class MembershipQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(
            is_active=True,
            organisation__is_active=True,
            user__is_active=True,
        ).filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=now))


class Membership(models.Model):
    """A user acting for an organisation (optionally one cost centre) with one role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("utente"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("organizzazione"),
    )
    cost_centre = models.ForeignKey(
        CostCentre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="memberships",
        verbose_name=_("ufficio / centro di costo"),
    )
    role = models.CharField(_("ruolo"), max_length=20, choices=Role.choices)
    is_active = models.BooleanField(_("attiva"), default=True)
    valid_until = models.DateTimeField(_("valida fino al"), null=True, blank=True)
    created_at = models.DateTimeField(_("creata il"), auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("abilitazione")
        verbose_name_plural = _("abilitazioni")
        ordering = ["organisation__name", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"],
                condition=models.Q(cost_centre__isnull=True),
                name="membership_unique_without_cost_centre",
            ),
            models.UniqueConstraint(
                fields=["user", "organisation", "cost_centre", "role"],
                condition=models.Q(cost_centre__isnull=False),
                name="membership_unique_with_cost_centre",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if self.cost_centre_id and self.cost_centre.organisation_id != self.organisation_id:
            raise ValidationError(
                {"cost_centre": _("L'ufficio non appartiene all'organizzazione indicata.")}
            )

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.organisation}"


class IdpType(models.TextChoices):
    PASSWORD = "PASSWORD", _("Password")
    SPID = "SPID", _("SPID")
    CIE = "CIE", _("CIE")
    CNS = "CNS", _("CNS")
    EIDAS = "EIDAS", _("eIDAS")
    DEV = "DEV", _("Identità di prova (sviluppo)")


class StrongAuthSession(models.Model):
    """Every login, with its provider and level of assurance (LoA 1 = password, 2+ = SPID L2/CIE).

    `anac_loa` is the value ANAC expects in the tracking JWS ("3" or "4"), derived from the
    SPID level or CIE, and empty for password logins.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="strong_auth_sessions",
        verbose_name=_("utente"),
    )
    provider = models.CharField(_("provider"), max_length=20)
    idp_type = models.CharField(_("tipo identità"), max_length=10, choices=IdpType.choices)
    loa = models.PositiveSmallIntegerField(_("livello di garanzia"))
    spid_level = models.PositiveSmallIntegerField(_("livello SPID"), null=True, blank=True)
    anac_loa = models.CharField(_("LoA ANAC"), max_length=1, blank=True)
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    ip_address = models.GenericIPAddressField(_("indirizzo IP"), null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    authenticated_at = models.DateTimeField(_("autenticato il"), default=timezone.now)
    expires_at = models.DateTimeField(_("scade il"))
    ended_at = models.DateTimeField(_("terminata il"), null=True, blank=True)

    class Meta:
        verbose_name = _("accesso")
        verbose_name_plural = _("accessi")
        ordering = ["-authenticated_at"]

    def is_active_at(self, now) -> bool:
        return self.ended_at is None and self.authenticated_at <= now < self.expires_at

    def __str__(self) -> str:
        return (
            f"{self.user} · {self.idp_type} LoA {self.loa} · {self.authenticated_at:%d/%m/%Y %H:%M}"
        )
