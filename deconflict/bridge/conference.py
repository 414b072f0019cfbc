"""Conference models <-> deconflict.v1.conference_pb2, by hand.

`*_to_proto` builds the protobuf message from a valid model; `*_data` reads a
protobuf message into plain data for one `model_validate` at the top, so every
check and every field path in a refusal lives in the models.
"""

from __future__ import annotations

from typing import Any

from deconflict.bridge.convert import duration, timestamp
from deconflict.models import conference as m
from deconflict.v1 import conference_pb2 as pb


def document_ref_to_proto(model: m.DocumentRef) -> pb.DocumentRef:
    return pb.DocumentRef(document_id=model.document_id, title=model.title, author=model.author, sha256=model.sha256)


def document_ref_data(message: pb.DocumentRef) -> dict[str, Any]:
    return {
        "document_id": message.document_id,
        "title": message.title,
        "author": message.author,
        "sha256": message.sha256,
    }


def participant_to_proto(model: m.Participant) -> pb.Participant:
    return pb.Participant(party=model.party, role=pb.ParticipantRole.ValueType(model.role))


def participant_data(message: pb.Participant) -> dict[str, Any]:
    return {"party": message.party, "role": message.role}


def agenda_item_to_proto(model: m.AgendaItem) -> pb.AgendaItem:
    return pb.AgendaItem(
        item_id=model.item_id,
        kind=pb.AgendaItemKind.ValueType(model.kind),
        title=model.title,
        notice_ids=model.notice_ids,
        incident_ids=model.incident_ids,
        documents=[document_ref_to_proto(d) for d in model.documents],
        presenter=participant_to_proto(model.presenter),
        allotted=duration(model.allotted),
    )


def agenda_item_data(message: pb.AgendaItem) -> dict[str, Any]:
    return {
        "item_id": message.item_id,
        "kind": message.kind,
        "title": message.title,
        "notice_ids": list(message.notice_ids),
        "incident_ids": list(message.incident_ids),
        "documents": [document_ref_data(d) for d in message.documents],
        "presenter": participant_data(message.presenter) if message.HasField("presenter") else None,
        "allotted": message.allotted if message.HasField("allotted") else None,
    }


def time_slot_to_proto(model: m.TimeSlot) -> pb.TimeSlot:
    return pb.TimeSlot(start_time=timestamp(model.start_time))


def time_slot_data(message: pb.TimeSlot) -> dict[str, Any]:
    return {"start_time": message.start_time if message.HasField("start_time") else None}


def conference_proposal_to_proto(model: m.ConferenceProposal) -> pb.ConferenceProposal:
    return pb.ConferenceProposal(
        conference_id=model.conference_id,
        revision=model.revision,
        title=model.title,
        candidate_slots=[time_slot_to_proto(s) for s in model.candidate_slots],
        duration=duration(model.duration),
        participants=[participant_to_proto(p) for p in model.participants],
        classification=pb.Classification.ValueType(model.classification),
        agenda=[agenda_item_to_proto(item) for item in model.agenda],
    )


def conference_proposal_data(message: pb.ConferenceProposal) -> dict[str, Any]:
    return {
        "conference_id": message.conference_id,
        "revision": message.revision,
        "title": message.title,
        "candidate_slots": [time_slot_data(s) for s in message.candidate_slots],
        "duration": message.duration if message.HasField("duration") else None,
        "participants": [participant_data(p) for p in message.participants],
        "classification": message.classification,
        "agenda": [agenda_item_data(item) for item in message.agenda],
    }


def slot_acceptance_to_proto(model: m.SlotAcceptance) -> pb.SlotAcceptance:
    return pb.SlotAcceptance(slot=time_slot_to_proto(model.slot))


def slot_acceptance_data(message: pb.SlotAcceptance) -> dict[str, Any]:
    return {"slot": time_slot_data(message.slot) if message.HasField("slot") else None}


def conference_decline_to_proto(model: m.ConferenceDecline) -> pb.ConferenceDecline:
    return pb.ConferenceDecline(reason=model.reason)


def conference_decline_data(message: pb.ConferenceDecline) -> dict[str, Any]:
    return {"reason": message.reason}


def conference_answer_to_proto(model: m.ConferenceAnswer) -> pb.ConferenceAnswer:
    out = pb.ConferenceAnswer(conference_id=model.conference_id, revision=model.revision)
    if model.accept is not None:
        out.accept.CopyFrom(slot_acceptance_to_proto(model.accept))
    if model.counter is not None:
        out.counter.CopyFrom(conference_proposal_to_proto(model.counter))
    if model.decline is not None:
        out.decline.CopyFrom(conference_decline_to_proto(model.decline))
    return out


def conference_answer_data(message: pb.ConferenceAnswer) -> dict[str, Any]:
    answer = message.WhichOneof("answer")
    return {
        "conference_id": message.conference_id,
        "revision": message.revision,
        "accept": slot_acceptance_data(message.accept) if answer == "accept" else None,
        "counter": conference_proposal_data(message.counter) if answer == "counter" else None,
        "decline": conference_decline_data(message.decline) if answer == "decline" else None,
    }


def conference_cancellation_to_proto(model: m.ConferenceCancellation) -> pb.ConferenceCancellation:
    return pb.ConferenceCancellation(conference_id=model.conference_id, reason=model.reason)


def conference_cancellation_data(message: pb.ConferenceCancellation) -> dict[str, Any]:
    return {"conference_id": message.conference_id, "reason": message.reason}


def decision_to_proto(model: m.Decision) -> pb.Decision:
    return pb.Decision(decision_id=model.decision_id, item_id=model.item_id, text=model.text)


def decision_data(message: pb.Decision) -> dict[str, Any]:
    return {"decision_id": message.decision_id, "item_id": message.item_id, "text": message.text}


def action_item_to_proto(model: m.ActionItem) -> pb.ActionItem:
    return pb.ActionItem(
        action_id=model.action_id,
        owner=model.owner,
        owner_role=pb.ParticipantRole.ValueType(model.owner_role),
        description=model.description,
        due_time=timestamp(model.due_time),
        item_id=model.item_id,
    )


def action_item_data(message: pb.ActionItem) -> dict[str, Any]:
    return {
        "action_id": message.action_id,
        "owner": message.owner,
        "owner_role": message.owner_role,
        "description": message.description,
        "due_time": message.due_time if message.HasField("due_time") else None,
        "item_id": message.item_id,
    }


def conference_record_to_proto(model: m.ConferenceRecord) -> pb.ConferenceRecord:
    return pb.ConferenceRecord(
        conference_id=model.conference_id,
        start_time=timestamp(model.start_time),
        end_time=timestamp(model.end_time),
        attendees=[participant_to_proto(p) for p in model.attendees],
        decisions=[decision_to_proto(d) for d in model.decisions],
        action_items=[action_item_to_proto(a) for a in model.action_items],
    )


def conference_record_data(message: pb.ConferenceRecord) -> dict[str, Any]:
    return {
        "conference_id": message.conference_id,
        "start_time": message.start_time if message.HasField("start_time") else None,
        "end_time": message.end_time if message.HasField("end_time") else None,
        "attendees": [participant_data(p) for p in message.attendees],
        "decisions": [decision_data(d) for d in message.decisions],
        "action_items": [action_item_data(a) for a in message.action_items],
    }
