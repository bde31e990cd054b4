"""State of the ANAC simulator. Disposable: the app has no migrations, tables come from
`migrate --run-syncdb` (make run) and from the test database set-up."""

from .auth import UsedJti  # noqa: F401
from .config import SimulatorConfig  # noqa: F401
from .fvoe import (  # noqa: F401
    SimFvoeAccessRequest,
    SimFvoeAuthorization,
    SimFvoeDocument,
    SimFvoeDocumentRequest,
    SimFvoeDocumentRequestItem,
    SimFvoeOperatorScript,
    SimFvoeSettings,
)
from .pcp import (  # noqa: F401
    SimAppalto,
    SimAvviso,
    SimCig,
    SimCigCounter,
    SimEsito,
    SimLot,
    SimScheda,
)
