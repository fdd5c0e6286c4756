"""The pipeline's memory of what it encoded lately: a question with its conversation, whole or for the decider only.

A follow-up reads the turn before it again (`FollowUps._earlier_reading`), and in a chat that turn was encoded
moments ago by the same process: it is found here rather than encoded again. A reading that wants no vector (a
message read without its conversation, the turn before) runs only the encoder's layers below the decider's split
(`QuestionEncoder.split_states`), and a whole encoding of the same pair serves it too, as the very array the decider's
tops remember their readings of (`top.REMEMBERED`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.recent import Recent

if TYPE_CHECKING:
    import numpy as np

    from assistant.encoders import QuestionEncoder

RECENT = 512  # pairs kept: a few hundred turns


class RecentEncodings:
    """The last `size` encodings by (text, context): the vector (None when only the states were computed) and the
    states, both read-only."""

    def __init__(self, encoder: QuestionEncoder, size: int = RECENT) -> None:
        self.encoder = encoder
        self._items: Recent[tuple[str, str], tuple[np.ndarray | None, np.ndarray | None]] = Recent(size)

    def whole(self, text: str, context: str) -> tuple[np.ndarray, np.ndarray | None]:
        """The pair's vector and states, from one pass over the whole encoder."""
        found = self._items.get((text, context))
        if found is not None and found[0] is not None:
            return found[0], found[1]
        vector, states = self.encoder.encode_pair(text, context)
        self._put((text, context), vector, states)
        return vector, states

    def states(self, text: str, context: str) -> np.ndarray | None:
        """The pair's states only, as `whole` gives them, bit for bit."""
        found = self._items.get((text, context))
        if found is not None:
            return found[1]
        states = self.encoder.split_states(text, context)
        self._put((text, context), None, states)
        return states

    def _put(self, key: tuple[str, str], vector: np.ndarray | None, states: np.ndarray | None) -> None:
        for array in (vector, states):
            if array is not None:
                array.setflags(write=False)  # one array serves every reader: none may change it
        self._items.put(key, (vector, states))
