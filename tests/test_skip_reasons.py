"""tests/skip_reasons.py, the plugin every session runs: a skip without a reason, or an xfail that is
lenient or unexplained, fails the run; the same with a reason (and strict) passes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BAD = {  # a test module's body → what the failing run says
    "bare-skip-call": ("def test_it():\n    pytest.skip()\n", "pytest.skip() without a reason"),
    "blank-skip-call": ('def test_it():\n    pytest.skip("  ")\n', "pytest.skip() without a reason"),
    "skip-in-a-fixture": (
        "@pytest.fixture\ndef gone():\n    pytest.skip()\n\ndef test_it(gone):\n    pass\n",
        "pytest.skip() without a reason",
    ),
    "skip-mark": ("@pytest.mark.skip\ndef test_it():\n    pass\n", "@pytest.mark.skip without a reason"),
    "skipif-true": ('@pytest.mark.skipif("1 == 1")\ndef test_it():\n    pass\n', "skipif without reason="),
    "skipif-false": ('@pytest.mark.skipif("1 == 2")\ndef test_it():\n    pass\n', "skipif without reason="),
    "xfail-not-strict": (
        '@pytest.mark.xfail(reason="a known bug")\ndef test_it():\n    assert False\n',
        "xfail that is not strict",
    ),
    "xfail-without-reason": (
        "@pytest.mark.xfail(strict=True)\ndef test_it():\n    assert False\n",
        "xfail without reason=",
    ),
    "xfail-call": ('def test_it():\n    pytest.xfail("a known bug")\n', "pytest.xfail() cannot be strict"),
    "xfail-applied-by-a-fixture": (
        "@pytest.fixture\ndef known(request):\n"
        '    request.applymarker(pytest.mark.xfail(reason="a known bug"))\n\n'
        "def test_it(known):\n    assert False\n",
        "xfail that is not strict",
    ),
    "module-skipped": (
        "pytest.skip(allow_module_level=True)\n\ndef test_it():\n    pass\n",
        "pytest.skip(allow_module_level=True) without a reason",
    ),
}

GOOD = {
    "skip-call": 'def test_it():\n    pytest.skip("needs a Virtuoso server")\n',
    "skip-mark-positional": '@pytest.mark.skip("not on this system")\ndef test_it():\n    pass\n',
    "skip-mark": '@pytest.mark.skip(reason="not on this system")\ndef test_it():\n    pass\n',
    "skipif": '@pytest.mark.skipif("1 == 1", reason="not on this system")\ndef test_it():\n    pass\n',
    "xfail": '@pytest.mark.xfail(strict=True, reason="a known bug")\ndef test_it():\n    assert False\n',
    "module-skipped": 'pytest.skip("not on this system", allow_module_level=True)\n\ndef test_it():\n    pass\n',
}


def run(pytester: pytest.Pytester, body: str) -> pytest.RunResult:
    """A session of the module `body` beside one plain passing test (so a whole module may be skipped)."""
    pytester.makepyfile(test_case="import pytest\n\n" + body, test_plain="def test_plain():\n    pass\n")
    return pytester.runpytest("-p", "tests.skip_reasons", "-p", "no:cacheprovider")


@pytest.mark.parametrize(("body", "message"), BAD.values(), ids=BAD.keys())
def test_a_skip_or_xfail_without_reason_or_strictness_fails_the_run(
    pytester: pytest.Pytester, body: str, message: str
) -> None:
    result = run(pytester, body)
    output = result.stdout.str()
    assert result.ret != pytest.ExitCode.OK, output
    assert message in output, output
    outcomes = result.parseoutcomes()
    assert not {"skipped", "xfailed", "xpassed"} & set(outcomes), outcomes


@pytest.mark.parametrize("body", GOOD.values(), ids=GOOD.keys())
def test_a_skip_or_strict_xfail_with_its_reason_passes(pytester: pytest.Pytester, body: str) -> None:
    result = run(pytester, body)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1 and outcomes.get("skipped", 0) + outcomes.get("xfailed", 0) == 1, outcomes


def test_xfail_is_strict_when_the_ini_file_says_so(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nxfail_strict = true\n")
    result = run(pytester, '@pytest.mark.xfail(reason="a known bug")\ndef test_it():\n    assert False\n')
    result.assert_outcomes(passed=1, xfailed=1)


def test_without_the_plugin_the_same_skip_passes(pytester: pytest.Pytester) -> None:
    """The control: it is the plugin that fails the run, not pytest."""
    pytester.makepyfile(test_case="import pytest\n\ndef test_it():\n    pytest.skip()\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(skipped=1)
