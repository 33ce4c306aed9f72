"""The first start, as a new user sees it: no index yet, the page opened in a browser.

    python bench/first_start.py [--runs 3] [--cold-model] [--screenshot FILE]

Starts the real page (`streamlit run app.py`, 127.0.0.1 only) on an empty index folder, opens
it in headless Chromium (Playwright, Debian's /usr/bin/chromium) and prints, per run and as
medians: seconds from the server's start to its health check, from opening the page to the
first thing drawn (the title with the progress bar), and to the question box (the index built
and loaded). --cold-model also starts without the exported ONNX model (a fresh cache folder),
as on a machine that never ran the program. --screenshot saves the page while the bar moves.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_load  # noqa: E402  (the harness that serves the page, beside this file)


def one_start(cold_model: bool, screenshot: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="first-start-") as tmp:
        tmp = Path(tmp)
        settings = {"XDG_CACHE_HOME": str(tmp / "cache")} if cold_model else {}
        old = {k: os.environ.get(k) for k in settings}
        os.environ.update(settings)
        try:
            launched = time.perf_counter()
            with bench_load.serve(tmp / "index", tmp / "streamlit.log", start_timeout=300) as server:
                healthy = time.perf_counter() - launched
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=bench_load.CHROMIUM, args=bench_load.CHROMIUM_ARGS)
                    page = browser.new_page(viewport={"width": 1400, "height": 900})
                    started = time.perf_counter()
                    page.goto(server.url)
                    page.get_by_text("Ask the essays").first.wait_for(timeout=300_000)
                    drawn = time.perf_counter() - started
                    bar = page.locator('[data-testid="stProgress"]')
                    if screenshot is not None:
                        try:
                            bar.wait_for(timeout=60_000)
                            page.wait_for_timeout(1500)
                            page.screenshot(path=str(screenshot))
                        except Exception:  # noqa: BLE001 - built before the bar could be seen
                            pass
                    page.get_by_label("Your question").wait_for(timeout=600_000)
                    ready = time.perf_counter() - started
                    browser.close()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return {"health_s": healthy, "first_drawn_s": drawn, "question_box_s": ready}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cold-model", action="store_true", help="no exported model either")
    ap.add_argument("--screenshot", type=Path, help="save the page while the progress bar moves")
    args = ap.parse_args(argv)
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; "
          f"{'no index, no exported model' if args.cold_model else 'no index (model exported before)'}")
    rows = []
    for n in range(args.runs):
        row = one_start(args.cold_model, args.screenshot if n == 0 else None)
        rows.append(row)
        print(f"run {n + 1}: server up {row['health_s']:.1f} s; page opened -> first drawn "
              f"{row['first_drawn_s']:.1f} s, -> question box {row['question_box_s']:.1f} s", flush=True)
    med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    print(f"median: server up {med['health_s']:.1f} s; first drawn {med['first_drawn_s']:.1f} s; "
          f"question box {med['question_box_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
