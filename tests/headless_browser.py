"""Headless Chromium for tests: load a local page, let its scripts run, and return its DOM or a screenshot.

Chromium comes from the system packages (`apt-get install chromium`, as .ci/run does). Each call starts its
own browser with an empty profile and no background networking, so a test never depends on another's.
Import as `from headless_browser import ...` (tests/ is on sys.path, like http_server).
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import tempfile

NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_HINT = "headless Chromium is needed: apt-get update && apt-get install -y chromium (see .ci/run)"


def chromium_path() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _run(page: pathlib.Path, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess:
    browser = chromium_path()
    if browser is None:
        raise RuntimeError(INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="newsbeam-chromium-") as profile:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
                   f"--user-data-dir={profile}", "--virtual-time-budget=5000", *extra, page.resolve().as_uri()]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise RuntimeError(f"chromium exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def dump_dom(page: pathlib.Path) -> str:
    """The page's DOM as serialised after its load handlers ran."""
    return _run(page, "--dump-dom").stdout


def screenshot(page: pathlib.Path, png: pathlib.Path, width: int = 1280, height: int = 2400) -> pathlib.Path:
    """A PNG of the page's first `height` pixels at a laptop-like width."""
    _run(page, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    return png
