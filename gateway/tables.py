"""Every table of the store, registered on ``Base.metadata``: what Alembic's environment and the
schema-drift test compare the migrations with. A feature that adds a model module adds it here."""

from gateway.broadcast import models as broadcast  # noqa: F401
from gateway.events import models as events  # noqa: F401
from gateway.journal import models as journal  # noqa: F401
from gateway.keys import models as keys  # noqa: F401
from gateway.replicas import models as replicas  # noqa: F401
from gateway.sessions import models as sessions  # noqa: F401
from gateway.store import models as store  # noqa: F401
from gateway.webhooks import models as webhooks  # noqa: F401
