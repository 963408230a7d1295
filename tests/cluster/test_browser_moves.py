"""A browser that opens its link on a node that does not own the session ends up in the
call on the owner, without the person doing anything (docs/PROTOCOL.md, "Several
nodes"): headless Chromium, two real nodes on one real redis-server."""

from __future__ import annotations

import pytest

from tests.cluster.conftest import StartNode

# The e2e tier's fixtures, for this one test of the page across nodes.
from tests.e2e.conftest import OpenPage, client_bundle, open_page  # noqa: F401

pytestmark = pytest.mark.e2e


async def test_a_page_at_the_wrong_node_is_sent_to_the_owner(
    start_node: StartNode,
    open_page: OpenPage,  # noqa: F811 (the fixture imported above)
) -> None:
    a = await start_node()
    b = await start_node()
    session = await a.create_session("Moving group")
    urls = []
    for node, name in ((a, "Alex"), (b, "Sam")):
        link = await a.mint_link(session["id"], name, "patient", admitted=True)
        # Each opens the link on a different node: one of them is not the owner.
        urls.append(f"{node.base_url}/join#t={link['token']}")
    pages = [await open_page(url, shared=True) for url in urls]
    for page in pages:
        await page.click("#join")
    for page in pages:
        await page.wait_for_function(
            "() => !document.getElementById('call').hidden"
            " && document.querySelectorAll('.tile').length === 2",
            timeout=20_000,
        )
    origins = {await page.evaluate("location.origin") for page in pages}
    assert len(origins) == 1, f"the two pages are on different nodes: {origins}"
    assert origins <= {a.base_url, b.base_url}
