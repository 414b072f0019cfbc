"""Typed async clients of a node: PeerClient (deconflict.v1) and OperatorClient (deconflict.operator.v1)."""

from deconflict.client.operator import OperatorClient
from deconflict.client.peer import BadAnswerError, Delivery, PeerClient, StreamRefusal
from deconflict.client.retry import RefusedError, RetryPolicy, call_with_retry

__all__ = [
    "BadAnswerError",
    "Delivery",
    "OperatorClient",
    "PeerClient",
    "RefusedError",
    "RetryPolicy",
    "StreamRefusal",
    "call_with_retry",
]
