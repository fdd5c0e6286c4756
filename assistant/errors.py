"""Errors a user can cause and fix; each message says what is wrong and what to do."""

# How long the first ingest trains the decider on 2 cores, as every message that asks a user to wait for it says
# (the fresh-clone runs of stop 49-50: 696-753 s with native bfloat16, about 1.5 times that without).
TRAINING_MINUTES = "10-20"


class RayAdvisorError(Exception):
    """Base class: these are shown to people as a message, never as a traceback."""


class IndexMissingError(RayAdvisorError):
    """No index yet, or it cannot be opened."""


class IndexChangedError(IndexMissingError):
    """The index version an assistant was built on was dropped by a newer ingest while it was in use."""


class InputError(RayAdvisorError):
    """A question or history the assistant cannot take (empty, too long, wrong roles).

    `field` names what is wrong ("question", "history.2.content"); the message starts with it.
    """

    def __init__(self, problem: str, field: str = "question") -> None:
        super().__init__(f"{field}: {problem}")
        self.problem, self.field = problem, field


class IngestError(RayAdvisorError):
    """Nothing usable to ingest."""


class GeneratorError(RayAdvisorError):
    """A generator could not write a draft (timeout, refused connection, 5xx, malformed reply).

    The pipeline catches exactly this and falls back to the extractive answer, saying why.
    """
