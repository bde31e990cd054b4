from __future__ import annotations

from django.db import models


class UsedJti(models.Model):
    """A `jti` the simulated PDND or gateway has accepted: accepting it again would be a replay.

    Rows are kept until `expires_at` (the token's exp plus the leeway): after that the token is
    refused as expired anyway, so the row can go.
    """

    CLIENT_ASSERTION = "client_assertion"
    TRACKING_EVIDENCE = "tracking_evidence"

    jti = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        app_label = "anac_simulator"

    def __str__(self) -> str:
        return f"{self.kind} {self.jti}"
