"""A running server swaps the release it serves (the seam hot reload uses): no request fails meanwhile, each
request is answered by one release whole, answers and ETags follow the new release, and the old engine stops."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.plumbing.runtime import Service, _both, _discard
from kg.engines.embedded import EmbeddedEngine
from kg.errors import BuildOutputError, EngineUnavailable
from kg.release.layout import Release
from kg.settings import Settings
from tests.conftest import Built
from tests.server import make_build

NEW_GRAPH = "https://w3id.org/capacities/lp/id/graph/asserted"
NEW_RELEASE = f'<https://example.org/s> <https://example.org/p> "only in the new release" <{NEW_GRAPH}> .\n'
ASK_OLD = 'ASK { ?m <http://purl.org/dc/terms/title> "Viable Cities"@en }'
ASK_NEW = 'ASK { ?s <https://example.org/p> "only in the new release" }'


async def _until_ready(client: httpx.AsyncClient) -> None:
    for _ in range(600):
        if (await client.get("/ready")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    pytest.fail("the server did not become ready")


def _ask(client: httpx.AsyncClient, query: str) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(client.get("/sparql", params={"query": query}))


@pytest.mark.parametrize("pollers", [8])
def test_a_release_swaps_under_a_running_server_without_a_failed_request(
    built: Built, tmp_path: Path, pollers: int
) -> None:
    build_dir = tmp_path / "build"
    shutil.copytree(built.result.directory, build_dir / "releases" / "old")
    (build_dir / "current").symlink_to(build_dir / "releases" / "old", target_is_directory=True)
    make_build(build_dir / "releases" / "new", NEW_RELEASE, version="new-release")
    new = Release.open(build_dir / "releases" / "new")
    # eight pollers share one worker, and a query's budget counts its wait for the worker: 5 s, not 1, so that a
    # loaded machine does not turn a slow turn into a 503 (the old engine then retires 6 s after the swap)
    settings = Settings(build_dir=build_dir, query_workers=1, query_timeout=5.0)
    app = create_app(settings)

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                await _until_ready(client)
                service: Service = app.state.service
                old_version, old_engine = service.runtime.version, service.runtime.engine
                before = await client.get("/api/queries/materials_in_subcategory", params={"subcategory": "1.2"})
                assert before.status_code == 200 and before.json()
                assert (await client.get("/sparql", params={"query": ASK_OLD})).json()["boolean"] is True

                seen: list[tuple[int, str, bool | None]] = []
                swapping = True

                async def poll() -> None:
                    while swapping:
                        health = await client.get("/health")
                        answer = await client.get("/sparql", params={"query": ASK_NEW})
                        seen.append((health.status_code, health.json().get("version", ""), None))
                        seen.append((answer.status_code, "", answer.json().get("boolean")))

                tasks = [asyncio.create_task(poll()) for _ in range(pollers)]
                await asyncio.sleep(0.5)
                await service.swap(new)
                await asyncio.sleep(0.5)
                swapping = False
                await asyncio.gather(*tasks)

                assert seen and {status for status, _, _ in seen} == {200}
                versions = [version for _, version, _ in seen if version]
                assert set(versions) == {old_version, "new-release"}
                assert (await client.get("/health")).json()["version"] == "new-release"
                assert (await client.get("/sparql", params={"query": ASK_NEW})).json()["boolean"] is True
                assert (await client.get("/sparql", params={"query": ASK_OLD})).json()["boolean"] is False
                after = await client.get("/api/queries/materials_in_subcategory", params={"subcategory": "1.2"})
                assert after.status_code == 200 and after.json() == []
                assert after.headers["etag"] != before.headers["etag"]

                assert isinstance(old_engine, EmbeddedEngine) and old_engine is not service.runtime.engine
                deadline = time.monotonic() + settings.query_timeout + 1 + 20
                while old_engine.status()["workers"] and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)  # retired once its requests had their time budget to finish
                assert old_engine.status()["workers"] == 0

    asyncio.run(scenario())


def test_a_release_that_cannot_be_served_leaves_the_current_one_serving(built: Built, tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    shutil.copytree(built.result.directory, build_dir / "releases" / "old")
    (build_dir / "current").symlink_to(build_dir / "releases" / "old", target_is_directory=True)
    broken = build_dir / "releases" / "broken"
    make_build(broken, NEW_RELEASE, version="broken")
    (broken / "dataset.nq").write_text("<not a quad", encoding="utf-8")
    app = create_app(Settings(build_dir=build_dir, query_workers=1))

    async def scenario() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
                await _until_ready(client)
                service: Service = app.state.service
                version = service.runtime.version
                with pytest.raises(Exception):  # noqa: B017 - whatever the engine raises, the swap does not happen
                    await asyncio.wait_for(service.swap(Release.open(broken)), timeout=60)
                assert service.runtime.version == version
                assert (await client.get("/sparql", params={"query": ASK_OLD})).json()["boolean"] is True
                assert (await client.get("/ready")).status_code == 200

    asyncio.run(scenario())


async def _sleeping() -> None:
    await asyncio.sleep(30)


async def _failing(error: Exception, after: float = 0.0) -> None:
    await asyncio.sleep(after)
    raise error


def test_a_failed_verification_stops_waiting_for_the_workers_and_is_the_error_reported() -> None:
    """The release's files are checked while its workers start: the checksum's failure is reported at once
    (not after the workers' start, up to minutes with own copies at 100x), and wins over the start's own."""
    corrupt = BuildOutputError("the file's SHA-256 differs from the build's: the release is corrupt", file="x.nq")
    unavailable = EngineUnavailable("a query worker stopped as soon as it started")

    async def scenario(starting: Coroutine[Any, Any, None], verifying: Coroutine[Any, Any, None]) -> Exception:
        tasks = [asyncio.create_task(starting), asyncio.create_task(verifying)]
        began = time.monotonic()
        try:
            await _both(*tasks)
        except Exception as exc:  # the error _both reports
            assert time.monotonic() - began < 5
            return exc
        finally:
            for task in tasks:
                _discard(task)
        raise AssertionError("no error was reported")

    assert asyncio.run(scenario(_sleeping(), _failing(corrupt))) is corrupt
    assert asyncio.run(scenario(_failing(unavailable), _failing(corrupt, after=0.3))) is corrupt
    assert asyncio.run(scenario(_failing(unavailable), asyncio.sleep(0.1))) is unavailable
