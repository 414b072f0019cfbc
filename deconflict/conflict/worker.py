"""The conflict index in a process of its own: the other end of deconflict.node.assessor.

It reads batches of orders (deconflict.conflict.work) from a socket, carries them out in
order and writes back what the checks found. Frames are a 4-byte big-endian length and
a pickle: both ends are this package, started together, on one machine.
"""

from __future__ import annotations

import contextlib
import pickle
import socket
from typing import Any, BinaryIO

from deconflict.conflict.work import Desk, Order

LENGTH = 4  # bytes of a frame's big-endian length


def frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(LENGTH, "big") + body


def read_frame(stream: BinaryIO) -> Any | None:
    """The next frame's value; None at the end of the stream."""
    header = stream.read(LENGTH)
    if len(header) < LENGTH:
        return None
    return pickle.loads(stream.read(int.from_bytes(header, "big")))


def serve(connection: socket.socket) -> None:
    """Until the node closes its end: orders in, findings out.

    A batch is answered when it held checks (File with a ticket, Sync); the answer carries the number of volumes
    indexed.
    """
    desk = Desk()
    stream = connection.makefile("rb")
    # The node closing its end while an answer is on its way is the end too, not an error.
    with connection, stream, contextlib.suppress(BrokenPipeError, ConnectionResetError):
        while (orders := read_frame(stream)) is not None:
            batch: list[Order] = orders
            found = desk.carry_out(batch)
            if found:
                connection.sendall(frame((len(desk), found)))
