"""kg.reasoning.rdflib_tuning: the build's speed-ups leave rdflib's answers and the process's collector as they were."""

from __future__ import annotations

import gc
import threading

import pytest
from rdflib.namespace import OWL, RDFS

from kg.reasoning.rdflib_tuning import garbage_collection_paused, resolve_vocabulary_terms


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_the_collector_is_paused_inside_and_back_on_after(collector_on) -> None:
    with garbage_collection_paused():
        assert not gc.isenabled()
        with garbage_collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the inner block's end must not restart the collector of the outer block"
    assert gc.isenabled()


def test_a_failing_block_restarts_the_collector(collector_on) -> None:
    with pytest.raises(RuntimeError), garbage_collection_paused():
        raise RuntimeError("build failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on) -> None:
    gc.disable()
    with garbage_collection_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_blocks_in_two_threads_restart_the_collector_once_both_end(collector_on) -> None:
    entered, release = threading.Event(), threading.Event()

    def other_build() -> None:
        with garbage_collection_paused():
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=other_build)
    thread.start()
    assert entered.wait(5)
    with garbage_collection_paused():
        pass
    assert not gc.isenabled(), "the other thread's block is still running"
    release.set()
    thread.join(5)
    assert gc.isenabled()


def test_vocabulary_terms_resolve_to_the_same_iris() -> None:
    before = (str(OWL.sameAs), str(RDFS.subClassOf))
    resolve_vocabulary_terms()
    assert (
        (str(OWL.sameAs), str(RDFS.subClassOf))
        == before
        == (
            "http://www.w3.org/2002/07/owl#sameAs",
            "http://www.w3.org/2000/01/rdf-schema#subClassOf",
        )
    )
    assert "sameAs" in vars(OWL), "the term is a plain class attribute after resolving"
