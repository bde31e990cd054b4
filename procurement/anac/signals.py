"""Signals of the ANAC operations layer, for workflow apps (the kernel never imports them).

``operation_finished(sender=AnacOperation, operation=<AnacOperation>, outcome="OK"|"KO"|"FAILED")``
    Sent INSIDE the transaction that records the final outcome of an operation: the operation,
    its PcpAppalto / PcpScheda are already updated and locked. A receiver changes its own object
    in the same transaction (an exception in a receiver rolls the outcome back, and the poll is
    repeated later), e.g.::

        @receiver(operation_finished)
        def on_anac_outcome(sender, operation, outcome, **kwargs):
            if operation.kind == AnacOperationKind.CONFERMA_APPALTO:
                order = SupplyOrder.objects.select_for_update().get(pcp_appalto=operation.appalto)
                ...

``operation_stalled(sender=AnacOperation, operation=..., outcome="STALLED")``
    Sent once, inside the transaction, when an operation has no outcome after
    PCP_STALLED_AFTER_HOURS (72 h): notify the RUP (N-15).
"""

from django.dispatch import Signal

operation_finished = Signal()
operation_stalled = Signal()
