"""Notices that name frequencies or contacts the agreement does not have (docs/spec/05-acknowledgement.md, 5.5).

Two real nodes on loopback: ru-mod files through its operator API, us-dod answers with its response policy. The
agreement of tests/nodes.py has the guard frequencies "guard-121.5" and "guard-243.0" and no contacts.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from deconflict.client import OperatorClient
from deconflict.models.notice import FlightNotice
from deconflict.models.response import DialogueState, OperationalResponse, ResponseKind, UnableReason
from deconflict.node.server import NodeServer
from tests.nodes import CHANNEL, RU, US, refusal_of, sortie, two_nodes
from tests.test_node import until
from tests.test_node_dialogue import file, responses_in, state_at


def naming(notice_id: str, *, frequencies: list[str], contact: str = "", latitude: float = 35.13) -> FlightNotice:
    return sortie(notice_id, latitude=latitude).model_copy(update={"frequency_ids": frequencies, "contact_id": contact})


async def answers(server: NodeServer, notice_id: str, count: int = 1) -> list[OperationalResponse]:
    """The responses a node received about one notice, once there are `count` of them."""
    await until(lambda: len(responses_in(server, notice_id)) >= count)
    found = [envelope.response for envelope in responses_in(server, notice_id)]
    return [response for response in found if response is not None]


@pytest.mark.asyncio
async def test_an_unknown_frequency_is_answered_unable_naming_the_first_one_dcf_rsp_028_dcf_rsp_027(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path) as pair:
        # The second and third frequencies are not in the agreement: the first of them is named.
        await file(pair.ru_address, naming("ru-mod/hama-1", frequencies=["guard-121.5", "hf-8992", "hf-11175"]))
        (response,) = await answers(pair.ru, "ru-mod/hama-1")
        assert response.kind == ResponseKind.UNABLE
        assert response.reasons == [UnableReason.UNKNOWN_REFERENCE]
        assert response.offending_field == "frequency_ids[1]"
        assert response.conflicts == []
        assert "hf-8992" in response.remarks
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        # Every reference known: the same node answers ROGER (DCF-RSP-027).
        await file(pair.ru_address, naming("ru-mod/hama-2", frequencies=["guard-243.0"], latitude=30.0))
        (response,) = await answers(pair.ru, "ru-mod/hama-2")
        assert (response.kind, response.reasons, response.offending_field) == (ResponseKind.ROGER, [], "")


@pytest.mark.asyncio
async def test_an_unknown_contact_is_named_after_the_frequencies_dcf_rsp_028_dcf_rsp_008(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await file(pair.ru_address, naming("ru-mod/hama-1", frequencies=["guard-121.5"], contact="ru-mod/duty"))
        (response,) = await answers(pair.ru, "ru-mod/hama-1")
        assert (response.kind, response.reasons) == (ResponseKind.UNABLE, [UnableReason.UNKNOWN_REFERENCE])
        assert response.offending_field == "contact_id"
        # A frequency comes before the contact in the notice: an unknown one is the first reference named.
        await file(
            pair.ru_address,
            naming("ru-mod/hama-2", frequencies=["hf-8992"], contact="ru-mod/duty", latitude=30.0),
        )
        (response,) = await answers(pair.ru, "ru-mod/hama-2")
        assert response.offending_field == "frequency_ids[0]"


@pytest.mark.asyncio
async def test_an_amendment_that_names_an_unknown_reference_is_answered_unable_dcf_rsp_028(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        notice = naming("ru-mod/hama-1", frequencies=["guard-121.5"])
        await file(pair.ru_address, notice)
        (roger,) = await answers(pair.ru, "ru-mod/hama-1")
        assert roger.kind == ResponseKind.ROGER
        async with OperatorClient(pair.ru_address) as operator:
            changed = notice.model_copy(update={"frequency_ids": ["guard-121.5", "hf-8992"]})
            await operator.amend_notice(changed, replaces_version=1)
        _, unable = await answers(pair.ru, "ru-mod/hama-1", count=2)
        assert (unable.notice_version, unable.kind) == (2, ResponseKind.UNABLE)
        assert (unable.reasons, unable.offending_field) == ([UnableReason.UNKNOWN_REFERENCE], "frequency_ids[1]")


@pytest.mark.asyncio
async def test_a_conflict_and_an_unknown_reference_are_both_given_dcf_rsp_027_dcf_rsp_028(tmp_path: Path) -> None:
    async with two_nodes(tmp_path) as pair:
        await file(pair.us_address, sortie("us-dod/hama-1", owner=US))
        await until(lambda: state_at(pair.us, US, "us-dod/hama-1") == DialogueState.ANSWERED)
        # The same circle, hour and levels, and a frequency the agreement does not have.
        await file(pair.ru_address, naming("ru-mod/hama-2", frequencies=["hf-8992"]))
        (response,) = await answers(pair.ru, "ru-mod/hama-2")
        assert response.kind == ResponseKind.UNABLE
        assert response.reasons == [UnableReason.CONFLICT, UnableReason.UNKNOWN_REFERENCE]
        assert [(c.notice_id, c.owner) for c in response.conflicts] == [("us-dod/hama-1", US)]
        assert response.offending_field == "frequency_ids[0]"


@pytest.mark.asyncio
async def test_the_operator_policy_still_answers_unknown_references_unable_dcf_rsp_029_dcf_rsp_028(
    tmp_path: Path,
) -> None:
    async with two_nodes(tmp_path, policy_us="operator") as pair:
        await file(pair.ru_address, naming("ru-mod/hama-1", frequencies=["guard-121.5", "hf-8992"]))
        # STANDBY at once, as for any notice, then the UNABLE the rule decides, with no operator in between.
        standby, unable = await answers(pair.ru, "ru-mod/hama-1", count=2)
        assert standby.kind == ResponseKind.STANDBY
        assert (unable.kind, unable.reasons) == (ResponseKind.UNABLE, [UnableReason.UNKNOWN_REFERENCE])
        assert unable.offending_field == "frequency_ids[1]"
        await until(lambda: state_at(pair.ru, RU, "ru-mod/hama-1") == DialogueState.ANSWERED)
        # The operator cannot take the notice as filed: ACCEPT, ROGER or COUNTER is refused, naming the kind.
        async with OperatorClient(pair.us_address) as operator:
            for kind in (ResponseKind.ACCEPT, ResponseKind.ROGER):
                answer = OperationalResponse(notice_id="ru-mod/hama-1", notice_version=1, kind=kind)
                refused = await refusal_of(operator.respond(CHANNEL, answer))
                assert refused.code == grpc.StatusCode.INVALID_ARGUMENT
                assert [field for field, _ in refused.violations] == ["response.kind"]
                assert "UNKNOWN_REFERENCE" in refused.violations[0][1]
            # An UNABLE for another reason only is refused too, naming the reasons.
            other = OperationalResponse(
                notice_id="ru-mod/hama-1",
                notice_version=1,
                kind=ResponseKind.UNABLE,
                reasons=[UnableReason.AIRSPACE_UNAVAILABLE],
            )
            refused = await refusal_of(operator.respond(CHANNEL, other))
            assert [field for field, _ in refused.violations] == ["response.reasons"]
        assert [r.kind for r in await answers(pair.ru, "ru-mod/hama-1", count=2)] == [
            ResponseKind.STANDBY,
            ResponseKind.UNABLE,
        ]
