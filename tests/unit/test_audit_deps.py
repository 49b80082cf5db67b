"""`make audit` fails on known vulnerabilities and only warns when the service is unreachable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "audit_deps.py"
spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
audit_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_deps)


def dep(name, vulns=()):
    return {"name": name, "version": "1.0", "vulns": list(vulns)}


def test_known_vulnerability_fails(capsys):
    vuln = {"id": "PYSEC-2099-1", "aliases": ["CVE-2099-1"], "fix_versions": ["1.1"]}
    data = {"dependencies": [dep("flask"), dep("jinja2", [vuln])]}
    assert audit_deps.evaluate(data, "", "", 1, "pypi") == 1
    out = capsys.readouterr().out
    assert "jinja2 1.0: PYSEC-2099-1 (CVE-2099-1) - fixed in 1.1" in out


def test_clean_report_passes(capsys):
    data = {"dependencies": [dep("flask"), dep("jinja2")]}
    assert audit_deps.evaluate(data, "", "", 0, "pypi") == 0
    assert "No known vulnerabilities in 2 audited" in capsys.readouterr().out


def test_unreachable_service_warns_and_passes(capsys):
    stderr = "requests.exceptions.ConnectionError: ... NameResolutionError(...)"
    assert audit_deps.evaluate(None, "", stderr, 1, "osv") == 0
    assert "DEPENDENCY AUDIT INCOMPLETE" in capsys.readouterr().out


def test_index_that_answers_not_found_for_everything_warns(capsys):
    skipped = {"name": "x", "skip_reason": "Dependency not found on PyPI and could not be audited"}
    data = {"dependencies": [dict(skipped, name=f"p{i}") for i in range(5)] + [dep("flask")]}
    assert audit_deps.evaluate(data, "", "", 0, "pypi") == 0
    out = capsys.readouterr().out
    assert "DEPENDENCY AUDIT INCOMPLETE" in out and "answered for 1 of 6" in out


def test_other_failures_fail(capsys):
    assert audit_deps.evaluate(None, "", "usage: pip-audit [-h] ...", 2, "pypi") == 2
