"""Errors a user can cause and fix; each message says what is wrong and what to do."""


class RayAdvisorError(Exception):
    """Base class: these are shown to people as a message, never as a traceback."""


class IndexMissingError(RayAdvisorError):
    """No index yet, or it cannot be opened."""


class IndexChangedError(IndexMissingError):
    """The index version an assistant was built on was dropped by a newer ingest while it was in use."""


class InputError(RayAdvisorError):
    """A question or history the assistant cannot take (empty, too long, wrong roles)."""


class IngestError(RayAdvisorError):
    """Nothing usable to ingest."""
