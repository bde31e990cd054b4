"""Every step of the PTIM contract life cycle (spec §4.3): guard, lock, change, audit, notify.

Lock order is always: the agreement row first, then the contract, then the progressive counter
(R-PTIM-148), so that concurrent operations on one AQ are serialised and no residual is ever
over-allocated.

The package groups the services by topic; every name is re-exported here, so
`from ptim.services import X` and `services.X` keep working.
"""

from .. import messages as M  # noqa: F401  (callers read services.M)
from ..access import (  # noqa: F401  (re-exported)
    MINISTRY_TYPES,
    is_competent_dt,
    sa_organisation,
    user_type_of,
)
from ..amounts import total_with_variations
from .acceptance import (  # noqa: F401  (re-exported)
    ConfirmResult,
    accept_contract,
    can_extend,
    confirm_contract,
    extend_stipula_deadline,
)
from .annulment import (  # noqa: F401  (re-exported)
    _reasons,
    annul_contract,
)
from .base import (  # noqa: F401  (re-exported)
    MAX_STIPULA_SIZE,
    MAX_TEXT,
    PtimError,
    Unavailable,
    logger,
)
from .booking import (  # noqa: F401  (re-exported)
    RUP_FIELDS,
    Intervention,
    _after_booking,
    _book_locked,
    _booking_receipt,
    _check_capacity,
    _create_contract,
    _lock_agreement,
    _log_shortfall,
    _new_receipt,
    _next_root,
    _sync_consumption,
    _unavailable,
    agreement_in_force,
    book_operator,
    chapters_for,
    check_descriptive,
    check_intervention,
    lot_for,
    preview_booking,
    propose_operator,
    receipt_url,
)
from .consistency import (  # noqa: F401  (re-exported)
    residual_differences,
)
from .dg_edit import (  # noqa: F401  (re-exported)
    update_contract_descriptive_data,
)
from .documents import (  # noqa: F401  (re-exported)
    _pdf_only,
    _read,
    _upload,
    _user_org,
)
from .expiry import (  # noqa: F401  (re-exported)
    _annul,
    _expire_one,
    _guard_terms,
    _lock_contract,
    expire_bookings,
    expire_if_due,
    expire_stipulations,
)
from .increase import (  # noqa: F401  (re-exported)
    increase_agreement_ceiling,
    set_chapter_ceiling,
    split_equally,
)
from .rebooking import (  # noqa: F401  (re-exported)
    REBOOK_EDITABLE,
    ReplacementResult,
    _descriptive_of,
    _intervention_of,
    _not_bookable_reason,
    _require_owner,
    _unavailability_receipt,
    book_replacement_after_clearance_lapse,
    check_rebook_corrections,
    find_rebookable,
    preview_rebooking,
    rebook_operator,
)
from .refusals import (  # noqa: F401  (re-exported)
    _exclude,
    _membership_event,
    _operator_event_mail,
    check_automatic_exclusion,
    exclude_operator,
    handle_refusal,
    notify_expired_refusals,
    readmit_operator,
    refusal_handleable,
    unlock_refusal,
)
from .rescission import (  # noqa: F401  (re-exported)
    rescind_contract,
)
from .variations import (  # noqa: F401  (re-exported)
    VariationCheck,
    _check_variation_delta,
    _variation_amounts,
    add_variation,
    annul_variation,
    update_variation,
)
from .waiver import (  # noqa: F401  (re-exported)
    WaiverResult,
    register_waiver,
    waiver_proposal,
)

__all__ = ["PtimError", "Unavailable", "book_operator", "total_with_variations"]
from .dg_files import (  # noqa: F401  (re-exported)
    replace_contract_file,
    replaceable_files,
)
from .guide import (  # noqa: F401  (re-exported)
    current_guide,
    publish_guide,
)
