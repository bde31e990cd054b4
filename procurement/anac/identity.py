"""Who acts towards ANAC: the identity carried by the Agid-JWT-TrackingEvidence JWS."""

from __future__ import annotations

from dataclasses import dataclass

NIL_FLOW_ID = "00000000-0000-0000-0000-000000000000"  # businessFlowID of the first crea-appalto


@dataclass(frozen=True)
class Actor:
    """The RUP (or delegate) on whose behalf a call is made, and the authority he acts for."""

    tax_code: str  # userCodiceFiscale
    role: str = "RP"  # userRole: "RP" or "DRP"
    loa: str = "3"  # userLoa: "3" (SPID 2) or "4" (SPID 3, CIE, CNS)
    idp_type: str = "SPID"  # userIdpType: SPID, CIE, CNS, EIDAS, CUSTOM
    sa_ausa: str = ""  # SAcodiceAUSA
    sa_tax_code: str = ""  # SACodiceFiscale (optional)

    def __post_init__(self):
        if self.role not in {"RP", "DRP"}:
            raise ValueError(f"userRole must be RP or DRP, not {self.role!r}")
        if self.loa not in {"3", "4"}:
            raise ValueError(f"userLoa must be '3' or '4', not {self.loa!r}")
        if self.idp_type not in {"SPID", "CIE", "CNS", "EIDAS", "CUSTOM"}:
            raise ValueError(f"userIdpType not allowed: {self.idp_type!r}")


# The scheduler acts with the identity of the RUP who started the operation (stored with it).
SYSTEM_TRIGGERS = ("scheduler", "reload", "reconcile", "retry")
