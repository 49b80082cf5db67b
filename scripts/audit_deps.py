"""Dependency audit for `make audit`: pip-audit over the project's virtualenv.

Exit status:
- 1 when pip-audit reports a known vulnerability (the packages, ids and fixed versions are
  printed); fix by raising the pin in pyproject.toml.
- 0 with a loud WARNING when the vulnerability service cannot be reached or does not answer
  for the installed packages (no network, DNS failure, a mirror without the per-version JSON
  API): the audit is then incomplete and says so, instead of failing CI for the wrong reason or
  passing it silently.
- 2 when pip-audit itself fails for another reason (its output is printed).

Options after ``--`` are passed to pip-audit (e.g. ``--ignore-vuln GHSA-...`` with a reason in
the commit that adds it). ``SURVEY_AUDIT_SERVICE`` picks the service (``pypi``, the default, or
``osv``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

NETWORK_TROUBLE = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|Temporary failure in name "
    r"resolution|Name or service not known|timed out|Timeout|SSLError|ProxyError|"
    r"50[0-4] Server Error|429 Client Error|ServiceError",
    re.I,
)
NOT_FOUND = "Dependency not found on PyPI"
BANNER = "=" * 78


def warn(message: str) -> None:
    print(f"\n{BANNER}\nWARNING: DEPENDENCY AUDIT INCOMPLETE\n{message}\n{BANNER}\n", flush=True)


def main(argv: list[str]) -> int:
    venv_bin = Path(sys.executable).parent
    pip_audit = venv_bin / "pip-audit"
    if not pip_audit.exists():
        print(f"pip-audit is not installed in {venv_bin}; install the dev extra", file=sys.stderr)
        return 2
    service = os.environ.get("SURVEY_AUDIT_SERVICE", "pypi")
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "audit.json"
        cmd = [
            str(pip_audit),
            "--vulnerability-service", service,
            "--progress-spinner", "off",
            "--skip-editable",
            "--format", "json",
            "--output", str(report),
            "--timeout", "30",
            *argv,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        data = json.loads(report.read_text()) if report.exists() and report.stat().st_size else None
    return evaluate(data, proc.stdout, proc.stderr, proc.returncode, service)


def evaluate(data: dict | None, stdout: str, stderr: str, returncode: int, service: str) -> int:
    """The exit status for pip-audit's JSON report (None if it wrote none) and its output."""
    if data is None:
        if NETWORK_TROUBLE.search(stderr):
            last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            warn(f"The vulnerability service ({service}) could not be reached:\n  {last}\n"
                 "Nothing was checked. Run `make audit` again with network access.")  # fmt: skip
            return 0
        print(stdout + stderr, file=sys.stderr)
        print(f"pip-audit failed (exit {returncode})", file=sys.stderr)
        return 2

    deps = data.get("dependencies", [])
    vulnerable = [d for d in deps if d.get("vulns")]
    audited = [d for d in deps if "skip_reason" not in d]
    unanswered = [d for d in deps if NOT_FOUND in d.get("skip_reason", "")]
    if vulnerable:
        print(f"Known vulnerabilities in {len(vulnerable)} installed package(s):")
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
                aliases = ", ".join(vuln.get("aliases") or [])
                print(f"  {dep['name']} {dep['version']}: {vuln['id']}"
                      f"{f' ({aliases})' if aliases else ''} - fixed in {fixed}")  # fmt: skip
        if unanswered:
            warn(f"Besides: {len(unanswered)} package(s) could not be looked up.")
        return 1
    if unanswered and len(unanswered) >= max(1, len(deps) // 2):
        warn(
            f"The vulnerability service ({service}) answered for {len(audited)} of "
            f"{len(deps)} installed packages; {len(unanswered)} came back 'not found' (the "
            "index in use does not serve the per-release JSON API, or there is no network).\n"
            "No vulnerability was reported, but most packages were NOT checked."
        )
        return 0
    print(f"No known vulnerabilities in {len(audited)} audited package(s) (service: {service}).")
    if unanswered:
        names = ", ".join(sorted(d["name"] for d in unanswered))
        print(f"Not on the public index, so not audited: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
