"""Load: many people asking questions on one page server at once.

    python bench/bench_load.py [--sessions 1 5 10 20] [--rounds 3] [--time-limit 90] [--json]

Starts the real page (`streamlit run app.py`) on 127.0.0.1 only, on a free port, against a
temporary index of the seed essays (or --index-dir), and opens one headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright; nothing is downloaded). For each number of sessions,
that many tabs of one browser context (each its own Streamlit session, with its own websocket)
at once open `/?q=QUESTION&k=3` for dev questions from ../shared/eval/dev_questions.jsonl,
`--rounds` times each (a new question each round; no new round after `--time-limit` seconds),
and time each visit from the navigation to the first result card on screen.

Printed per level: visits, errors (a page error, a Streamlit exception box, no card in time),
answers that differ from the single-user answer (the first card's highlighted quote against
`Searcher.search(q, k=3).results[0].quote` in this process), time to first card p50 / p95 /
max, visits per second, and the CPU time the server used per visit and as a share of the
machine's (the browser runs on the same machine: on 2 cores it, not the server, sets the
pace). Before the levels, one visit warms the server up (model and index load); its time is
printed apart. tests/ui/test_load.py runs the same code with 20 sessions.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

APP = REPO / "app.py"
EVAL_DIR = REPO.parent / "shared" / "eval"
CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
CARD = ".essay-card"
SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
FALLBACK_QUESTIONS = [
    "What does intimacy encompass beyond physical closeness?",
    "How do some people protect themselves after being hurt?",
    "What does it mean to feel emotionally safe with someone?",
]


class BrowserUnavailable(RuntimeError):
    """No headless Chromium can be started here (no Playwright, no binary, a launch error)."""


# --- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far (Linux; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used (Linux /proc/stat; 0 elsewhere)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(index_dir: Path, log_path: Path, start_timeout: float = 120.0, settings: dict | None = None):
    """The real page on http://127.0.0.1:PORT/ (loopback only) against `index_dir`; yields a
    Server (its url and pid). `settings`: more ESSAYS_ variables (e.g. ESSAYS_STORE). Raises
    RuntimeError with the server's log when it exits or does not answer in time."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESSAYS_")}  # default settings
    env["ESSAYS_INDEX_DIR"] = str(index_dir)
    env.update(settings or {})
    with open(log_path, "w", encoding="utf-8") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"streamlit exited ({server.returncode}):\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=2) as reply:
                    if reply.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not answer within {start_timeout:.0f} s:\n"
                                   f"{log_path.read_text()}")
            time.sleep(0.3)
        yield Server(url, server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# --- the questions and the answers -----------------------------------------------------------

def dev_questions(n: int = 5) -> list[str]:
    """n dev questions spread over the set (the fallback questions when it is absent)."""
    path = EVAL_DIR / "dev_questions.jsonl"
    if not path.is_file():
        return FALLBACK_QUESTIONS[:n]
    questions = [json.loads(line)["q"] for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    step = max(1, len(questions) // n)
    return questions[::step][:n]


def normalise(text: str | None) -> str:
    return " ".join((text or "").split())


def expected_quotes(searcher, questions: list[str], k: int = 3) -> dict[str, str]:
    """The single-user answer: the first result's quote for each question."""
    return {q: normalise(searcher.search(q, k=k).results[0].quote) for q in questions}


# --- the sessions ----------------------------------------------------------------------------

@dataclass
class Visit:
    session: int
    round: int
    question: str
    seconds: float | None = None  # navigation to the first card on screen
    quote: str | None = None  # the first card's highlighted text, whitespace-normalised
    shown: str = ""  # the first card's rank and every card's rank, when the quote was read
    cards: int = 0
    error: str = ""


@dataclass
class LoadRun:
    sessions: int
    rounds: int
    wall_s: float = 0.0
    visits: list[Visit] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors
    console_errors: list[str] = field(default_factory=list)  # reported, not counted as errors
    server_cpu_s: float = 0.0  # CPU time the page server used during this level
    machine_cpu_s: float = 0.0  # CPU time the whole machine used (server, browser, the rest)

    @property
    def errors(self) -> list[str]:
        return [f"session {v.session} round {v.round}: {v.error}" for v in self.visits if v.error] \
            + [f"page error: {e}" for e in self.page_errors]

    def mismatches(self, expected: dict[str, str]) -> list[str]:
        return [f"session {v.session} round {v.round} {v.question!r}: page {v.quote!r} != "
                f"single-user {expected[v.question]!r} (cards by rank: {v.shown})"
                for v in self.visits if not v.error and v.quote != expected[v.question]]

    @property
    def latencies(self) -> list[float]:
        return [v.seconds for v in self.visits if v.seconds is not None and not v.error]

    def summary(self, expected: dict[str, str] | None = None) -> dict:
        lat = self.latencies
        return {
            "sessions": self.sessions, "rounds": self.rounds, "visits": len(self.visits),
            "questions": len({v.question for v in self.visits}),
            "errors": len(self.errors),
            "mismatches": len(self.mismatches(expected)) if expected else None,
            "console_errors": len(self.console_errors),
            "p50_s": round(percentile(lat, 50), 2) if lat else None,
            "p95_s": round(percentile(lat, 95), 2) if lat else None,
            "max_s": round(max(lat), 2) if lat else None,
            "wall_s": round(self.wall_s, 1),
            "visits_per_s": round(len(lat) / self.wall_s, 2) if self.wall_s else None,
            "server_cpu_s_per_visit": round(self.server_cpu_s / len(self.visits), 2)
            if self.visits else None,
            "server_cpu_share": round(self.server_cpu_s / self.machine_cpu_s, 2)
            if self.machine_cpu_s else None,
        }


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) without numpy."""
    ordered = sorted(values)
    at = (len(ordered) - 1) * q / 100
    lo = int(at)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (at - lo)


async def read_first_card(page, visit: Visit, timeout_s: float, tries: int = 20) -> None:
    """The first card's highlighted text and the ranks of the cards on screen, read when the
    page's run is over and the card ranked 1 is the first on screen (else read as found)."""
    for _ in range(tries):
        await page.locator(SETTLED).wait_for(timeout=timeout_s * 1000)
        ranks = [r.strip() for r in await page.locator(f"{CARD} .rank").all_text_contents()]
        marks = await page.locator(CARD).first.locator("mark").all_text_contents()
        visit.quote, visit.shown = normalise(" ".join(marks)), " ".join(ranks)
        if ranks[:1] == ["1"]:
            return
        await asyncio.sleep(0.25)


async def _session(context, url: str, n: int, questions: list[str], rounds: int, deadline: float,
                   k: int, timeout_s: float, run: LoadRun) -> None:
    page = await context.new_page()
    page.on("pageerror", lambda err: run.page_errors.append(f"session {n}: {err}"))
    page.on("console", lambda msg: run.console_errors.append(f"session {n}: {msg.text}")
            if msg.type == "error" else None)
    try:
        for r in range(rounds):
            if r and time.monotonic() > deadline:  # bounded: no new round after the time limit
                break
            question = questions[(n + r) % len(questions)]
            visit = Visit(n, r, question)
            run.visits.append(visit)
            target = f"{url}?{urllib.parse.urlencode({'q': question, 'k': k})}"
            started = time.perf_counter()
            try:
                await page.goto(target, wait_until="commit", timeout=timeout_s * 1000)
                await page.wait_for_selector(f"{CARD}, {EXCEPTION}", state="visible",
                                             timeout=timeout_s * 1000)
                visit.seconds = time.perf_counter() - started
                if await page.locator(EXCEPTION).count():
                    visit.error = "Streamlit exception: " + normalise(
                        await page.locator(EXCEPTION).first.text_content())[:300]
                    continue
                # the answer is read once the page's run is over and its first card is on
                # screen: during a run, Streamlit replaces the elements of the run before one
                # by one, and under load a reading can fall between two runs (once in about
                # 700 visits, only the third card was there)
                await read_first_card(page, visit, timeout_s)
                await page.wait_for_function(
                    f"document.querySelectorAll({CARD!r}).length >= {k}"
                    f" || document.querySelector({EXCEPTION!r}) !== null",
                    timeout=timeout_s * 1000)
                visit.cards = await page.locator(CARD).count()
                if await page.locator(EXCEPTION).count():
                    visit.error = "Streamlit exception: " + normalise(
                        await page.locator(EXCEPTION).first.text_content())[:300]
            except Exception as err:  # noqa: BLE001 - a timeout or a crash: this visit failed
                visit.error = f"{err.__class__.__name__}: {normalise(str(err))[:300]}"
                try:  # what the page showed instead, to tell a slow page from a broken one
                    shown = normalise(await page.locator("body").inner_text(timeout=5000))
                    visit.error += f" (the page shows: {shown[:400]!r})"
                except Exception:  # noqa: BLE001 - the page itself is gone
                    pass
    finally:
        await page.close()


async def _load(server: Server, questions: list[str], levels: list[int], rounds: int,
                time_limit: float, k: int, timeout_s: float, warm_up: bool) -> tuple[float | None, list[LoadRun]]:
    try:
        from playwright.async_api import async_playwright
    except ImportError as err:
        raise BrowserUnavailable(f"Playwright is not installed ({err}); pip install playwright") from None
    if not Path(CHROMIUM).is_file():
        raise BrowserUnavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    url = server.url
    async with async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
        except Exception as err:  # noqa: BLE001 - any launch failure: say why
            raise BrowserUnavailable(f"Chromium at {CHROMIUM} could not start: {err}") from None
        try:
            cold = None
            if warm_up:  # the first visit loads the model and the index into the server
                first = LoadRun(1, 1)
                await _session(context, url, 0, questions, 1, time.monotonic(), k, 180, first)
                if first.errors:
                    raise RuntimeError(f"the warm-up visit failed: {first.errors}")
                cold = first.visits[0].seconds
            runs = []
            for sessions in levels:
                run = LoadRun(sessions, rounds)
                cpu, busy = server.cpu_seconds(), machine_busy_seconds()
                started = time.monotonic()
                deadline = started + time_limit
                await asyncio.gather(*(_session(context, url, n, questions, rounds, deadline, k,
                                                timeout_s, run) for n in range(sessions)))
                run.wall_s = time.monotonic() - started
                run.server_cpu_s = server.cpu_seconds() - cpu
                run.machine_cpu_s = machine_busy_seconds() - busy
                runs.append(run)
            return cold, runs
        finally:
            await browser.close()


def run_load(server: "Server | str", questions: list[str], levels: list[int], rounds: int = 2,
             time_limit: float = 60.0, k: int = 3, timeout_s: float = 90.0,
             warm_up: bool = True) -> tuple[float | None, list[LoadRun]]:
    """(seconds of the warm-up visit, one LoadRun per number of concurrent sessions) against
    the page `server` (a Server, or the page's URL: then no CPU figures).
    Raises BrowserUnavailable when no browser can be started."""
    if isinstance(server, str):
        server = Server(server, -1)
    return asyncio.run(_load(server, questions, levels, rounds, time_limit, k, timeout_s, warm_up))


# --- the command line ------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20],
                        help="numbers of concurrent sessions, one level after the other")
    parser.add_argument("--rounds", type=int, default=3, help="questions each session asks")
    parser.add_argument("--time-limit", type=float, default=90.0,
                        help="seconds per level after which no session starts a new round")
    parser.add_argument("--questions", type=int, default=5, help="how many dev questions")
    parser.add_argument("--index-dir", type=Path, help="an existing index (default: a temporary "
                        "index of the seed essays)")
    parser.add_argument("--store", default="", help="serve from this Milvus collection "
                        "(milvus://HOST:PORT/COLLECTION; the seed essays are ingested into it first)")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = parser.parse_args(argv)

    from ingest import build_index
    from core.settings import DEFAULT_CORPUS, Settings
    from search import open_searcher

    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        index_dir = args.index_dir
        settings = Settings(store=args.store)
        if index_dir is None or args.store:
            index_dir = index_dir or work / "index"
            build_index([DEFAULT_CORPUS], index_dir, settings, on_event=lambda e: None, progress=False)
        questions = dev_questions(args.questions)
        expected = expected_quotes(open_searcher(index_dir, settings, rebuild=False), questions)
        store = {"ESSAYS_STORE": args.store} if args.store else None
        with serve(index_dir, work / "streamlit.log", settings=store) as server:
            cold, runs = run_load(server, questions, args.sessions, args.rounds, args.time_limit)
        rows = [run.summary(expected) for run in runs]
        if args.json:
            print(json.dumps({"cpus": os.cpu_count(), "warm_up_s": cold, "levels": rows,
                              "errors": [e for r in runs for e in r.errors],
                              "mismatches": [m for r in runs for m in r.mismatches(expected)]},
                             indent=2))
        else:
            print(f"{os.cpu_count()} CPUs; first visit (model and index load): {cold:.1f} s; "
                  f"{len(questions)} dev questions, k=3")
            print("sessions  visits  errors  different  p50 s  p95 s  max s  visits/s  wall s"
                  "  server CPU s/visit  server share of CPU")
            for row in rows:
                print(f"{row['sessions']:>8}  {row['visits']:>6}  {row['errors']:>6}  "
                      f"{row['mismatches']:>9}  {row['p50_s']:>5}  {row['p95_s']:>5}  "
                      f"{row['max_s']:>5}  {row['visits_per_s']:>8}  {row['wall_s']:>6}  "
                      f"{row['server_cpu_s_per_visit']:>18}  {row['server_cpu_share']:>19}")
            for run in runs:
                for line in run.errors + run.mismatches(expected):
                    print("  " + line)
        failed = any(r.errors or r.mismatches(expected) for r in runs)
        return 1 if failed else 0
    except BrowserUnavailable as err:
        print(f"no browser: {err}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
