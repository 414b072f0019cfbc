"""msgspec codecs for every protocol message: JSON for people and tools, MessagePack for the journal.

Encoding goes through msgspec (fast, no intermediate JSON text); decoding always
validates through the model, so a decoded message obeys the same rules as one
that arrived over the wire.
"""

from deconflict.codec.msgspec_codec import JsonCodec, MsgpackCodec, UndecodableMessageError

__all__ = ["JsonCodec", "MsgpackCodec", "UndecodableMessageError"]
