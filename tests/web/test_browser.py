"""The page in a real headless Chromium against `realbasicvsr serve` (a subprocess on a free port): a bad file
gets a message, the sample clip is uploaded, previewed (before/after slider, zoom), run with live progress
and downloaded. With REALBASICVSR_WEB_SCREENSHOT=docs/web.png set, the page is saved there (the README's
picture) and the run uses the full-size sample, as a user would; otherwise a quarter-size copy, for speed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import SAMPLE, SMALL_SIZE, check_upscaled_sample, wait_for

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; CI installs them)",
)
SCREENSHOT = os.environ.get("REALBASICVSR_WEB_SCREENSHOT")


@pytest.fixture
def serve(tmp_path: Path):
    """`realbasicvsr serve` on a free port; its URL. Stopped with SIGINT (Ctrl-C), which must exit cleanly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "realbasicvsr", "serve", "--port", str(port), "--jobs",
                             str(tmp_path / "jobs")], stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        assert proc.poll() is None, proc.stderr.read()
        try:
            return urllib.request.urlopen(url, timeout=2).status == 200
        except OSError:
            return False

    wait_for(up, 30, "realbasicvsr serve did not answer", every=0.1)
    yield url
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"open {url}" in err and "stopped (unfinished jobs continue on the next start)" in err


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads"),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(tmp_path / "downloads")})
    yield driver
    driver.quit()


def test_page_upload_preview_run_download(serve, browser, tmp_path, small_sample):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    clip, size = (SAMPLE, (160, 120)) if SCREENSHOT else (small_sample, SMALL_SIZE)
    d = browser
    d.get(serve)
    find = d.find_element
    wait_for(lambda: len(Select(find(By.ID, "model")).options) == 6, 20, "the model menu")
    assert [o.get_attribute("value") for o in Select(find(By.ID, "model")).options][:4] == [
        "realbasicvsr_lite_x4", "realbasicvsr_lite_x2", "bicubic", "lanczos"]  # offline ones first

    # a file that is not a video: a clear message, no job
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video\n" * 100)
    find(By.ID, "files").send_keys(str(bad))
    message = wait_for(lambda: find(By.ID, "message").is_displayed() and find(By.ID, "message").text, 20, "the error")
    assert message.startswith("notes.mp4: notes.mp4 is not a readable video")

    find(By.ID, "files").send_keys(str(clip))
    row = wait_for(lambda: row_text(d, "ready"), 20, "the upload")
    assert f"{size[0]}x{size[1]}, 24 frames" in row and not find(By.ID, "message").is_displayed()

    Select(find(By.ID, "model")).select_by_value("realbasicvsr_lite_x4")
    find(By.CSS_SELECTOR, "details summary").click()
    find(By.ID, "chunk").send_keys("12")  # two chunks: progress is reported half-way
    find(By.ID, "preview-btn").click()
    wait_for(lambda: d.execute_script("return ['before', 'after'].every(id => document.getElementById(id).complete "
                                      "&& document.getElementById(id).naturalWidth)"), 60, "the preview")
    sizes = d.execute_script("return ['before', 'after'].map(id => [document.getElementById(id).naturalWidth, "
                             "document.getElementById(id).naturalHeight])")
    assert sizes == [list(size), [4 * size[0], 4 * size[1]]]
    assert "full run would take about" in find(By.ID, "preview-info").text

    stage = find(By.ID, "stage")
    find(By.ID, "split").send_keys(*[Keys.ARROW_LEFT] * 15)  # the slider moves the split: 35% before
    assert "--split: 35%" in stage.get_attribute("style")
    stage.click()  # zoom at the click point
    assert find(By.ID, "after").get_attribute("style").count("scale(4)") == 1
    assert find(By.ID, "before").get_attribute("style").count("scale(4)") == 1
    Select(find(By.ID, "zoom")).select_by_value("1")

    find(By.ID, "start-btn").click()
    seen = []

    def finished() -> bool:
        value = d.execute_script("const bar = document.querySelector('#jobs tr[data-status=running] progress');"
                                 "return bar && bar.value")
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        return bool(row_text(d, "done"))

    wait_for(finished, 90, "the run")
    assert any(0 < v < 24 for v in seen) and seen == sorted(seen), seen  # progress advanced live
    assert "done: 24 frames" in row_text(d, "done")
    if SCREENSHOT:
        _save_screenshot(d, Path(SCREENSHOT))

    find(By.CSS_SELECTOR, "#jobs tr[data-status=done] a.download").click()
    target = tmp_path / "downloads" / "sample_realbasicvsr_lite_x4.mp4"
    wait_for(lambda: target.is_file() and not list(target.parent.glob("*.crdownload")), 30, "the download")
    check_upscaled_sample(target, size)


def row_text(driver, status: str) -> str:
    """The text of the job row with ``status``, read in one go (rows are rebuilt on every event)."""
    return driver.execute_script(f"const row = document.querySelector('#jobs tr[data-status={status}]');"
                                 "return row ? row.textContent : ''")


def _save_screenshot(driver, path: Path) -> None:
    """The page with the comparison in view, split down the middle; written with maximal PNG compression."""
    import cv2
    import numpy as np

    driver.set_window_size(1280, 980)  # tall enough for the job list below the comparison
    driver.execute_script("const s = document.getElementById('split'); s.value = 50;"
                          "s.dispatchEvent(new Event('input')); window.scrollTo(0, 0);")
    image = cv2.imdecode(np.frombuffer(driver.get_screenshot_as_png(), np.uint8), cv2.IMREAD_COLOR)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
