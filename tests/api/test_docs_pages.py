"""`/docs` and `/redoc` work offline: no outside host is referenced; the assets are served."""

from __future__ import annotations

import re

import httpx
import pytest

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_page_and_its_assets_come_from_the_service(
    client: httpx.AsyncClient, page: str
) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "//" not in re.sub(r"<!--.*?-->", "", answer.text, flags=re.DOTALL).replace(
        "http://www.w3.org", ""
    ), "the page names an outside host"
    assets = ASSET.findall(answer.text)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 1000, asset
    assert "/openapi.json" in answer.text


async def test_swagger_ui_does_not_call_the_online_validator(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert '"validatorUrl": null' in page
