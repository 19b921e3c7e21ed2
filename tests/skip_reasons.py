"""A pytest plugin: no test is skipped without saying why, and every expected failure is strict.

tests/conftest.py loads it, so it runs in every session. A skip must give its reason (a bare
`pytest.skip()`, `@pytest.mark.skip` or `@pytest.mark.skipif(...)` without `reason=` hides
why a check did not run); an xfail must give its reason and be strict, so that the day the
bug is fixed the test fails and the mark is removed (`pytest.xfail()` called in a test
cannot be strict). An offending test is reported as failed, with what to change.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest


def _xfail_strict_by_default(config: pytest.Config) -> bool:
    # pytest 9 reads strict_xfail (alias xfail_strict), then strict; pytest 8 knows only xfail_strict
    for name in ("strict_xfail", "xfail_strict", "strict"):
        try:
            value = config.getini(name)
        except ValueError:  # an ini option this pytest does not know
            continue
        if value is not None:
            return bool(value)
    return False


def mark_problems(item: pytest.Item) -> list[str]:
    """What is wrong with the item's skip, skipif and xfail marks."""
    problems = []
    for mark in item.iter_markers():
        reason = str(mark.kwargs.get("reason", "")).strip()
        if mark.name == "skip" and not (reason or (mark.args and str(mark.args[0]).strip())):
            problems.append("@pytest.mark.skip without a reason: give reason=...")
        elif mark.name == "skipif" and not reason:
            problems.append("@pytest.mark.skipif without reason=...")
        elif mark.name == "xfail":
            if not reason:
                problems.append("@pytest.mark.xfail without reason=...")
            if not mark.kwargs.get("strict", _xfail_strict_by_default(item.config)):
                problems.append("@pytest.mark.xfail that is not strict: give strict=True")
    return problems


def outcome_problems(call: pytest.CallInfo) -> list[str]:
    """What is wrong with a skip or xfail raised while the test (or its fixtures) ran."""
    error = call.excinfo.value if call.excinfo else None
    if isinstance(error, pytest.xfail.Exception):
        return ["pytest.xfail() cannot be strict: mark the test @pytest.mark.xfail(strict=True, reason=...)"]
    if isinstance(error, pytest.skip.Exception) and not str(error.msg or "").strip():
        return ["pytest.skip() without a reason: give it one, pytest.skip('why')"]
    return []


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    problems = outcome_problems(call)
    if call.when == "setup":  # marks are complete once setup ran (fixtures may apply some)
        problems = mark_problems(item) + problems
    if problems and not report.failed:
        report.outcome = "failed"
        report.longrepr = "\n".join(problems)
        if hasattr(report, "wasxfail"):
            del report.wasxfail  # reported as a failure, not as xfailed or xpassed
    return report


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    # a module skipped as a whole: pytest.skip(allow_module_level=True) leaves "Skipped" or "Skipped: <reason>"
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].strip() in ("Skipped", "Skipped:"):
        report.outcome = "failed"
        report.longrepr = "pytest.skip(allow_module_level=True) without a reason: give it one"
    return report
