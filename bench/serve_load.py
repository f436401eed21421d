"""`vibe serve` under load: bounded concurrent clients on loopback, mixed short and long
requests, some clients hanging up mid-stream; per level requests/s, tokens/s, time to first
token and latency p50/p99, then the short-behind-long latency ratio.

    python bench/serve_load.py [--levels 1,4,16,64] [--requests 2] [--concurrency 16]
                               [--reference transformers|transformers-cb] [--rounds 3] [--model DIR]
                               [--short-tokens 200] [--long-tokens N] [--skip-short-behind-long]
                               [--endpoint chat/completions|completions]

Each level runs `clients` concurrent clients until `clients * --requests` requests (at least 8)
are done; one request in four is long (a sum the demo model writes digit by digit until its
context is full), one in ten hangs up after its first few chunks. With `--reference
transformers`, the same load also goes to Hugging Face's `transformers serve` on the same
model (`transformers-cb`: with `--continuous-batching`, its strongest setting). Both servers run
side by side: after a warm-up, each round runs every level on each server, the order
alternating, and the summary gives medians (and min-max) of the rounds, vibe's over the
reference's, with the load average.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer

from vibecli.demo.problems import unseen_problems
from vibecli.paths import demo_model_dir

LONG = "What is " + "12345" * 30 + " + " + "98765" * 30 + "?"
CONTEXT = 1024  # the demo model's; long requests ask for all of it


@dataclass
class Outcome:
    kind: str  # short | long | hangup
    ok: bool
    ttft_s: float
    total_s: float
    tokens: int


@dataclass
class Server:
    name: str
    url: str  # up to the port
    model: str
    process: subprocess.Popen[bytes]
    tokenizer: Any

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(name: str, model: Path, concurrency: int) -> Server:
    port = _free_port()
    if name == "vibe":
        command = [sys.executable, "-m", "vibecli", "serve", "--model", str(model), "--port", str(port), "--quiet",
                   "--device", "cpu", "--concurrency", str(concurrency), "--max-queue", "1024"]  # fmt: skip
    else:
        # transformers' own CLI, with the subnormal-float flush vibe's engine sets on CPU, so that
        # both sides compute alike and the comparison is of the servers.
        launch = (
            "import sys, torch; torch.set_flush_denormal(True); "
            "from transformers.cli.transformers import main; sys.argv[0] = 'transformers'; sys.exit(main())"
        )
        command = [sys.executable, "-c", launch, "serve", str(model), "--port", str(port),
                   "--host", "127.0.0.1", "--device", "cpu"]  # fmt: skip
        if name == "transformers-cb":
            command.append("--continuous-batching")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/v1/models", timeout=2) as response:
                served = json.loads(response.read())["data"][0]["id"]
                return Server(name, url, served, process, AutoTokenizer.from_pretrained(model))
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{name} did not start")


@dataclass(frozen=True)
class Requests:
    """What each request asks for: where it goes and how many tokens."""

    endpoint: str = "chat/completions"
    short_tokens: int = 200
    long_tokens: int | None = None  # None: the rest of the demo model's context


def one_request(server: Server, kind: str, question: str, asks: Requests) -> Outcome:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1800)
    messages = [{"role": "user", "content": question}]
    # Long: the rest of the context (vibe serve's default without max_tokens; the reference needs a number).
    max_tokens = asks.short_tokens if kind != "long" else asks.long_tokens or CONTEXT - server.prompt_tokens(messages)
    body: dict[str, Any] = {"model": server.model, "temperature": 0, "max_tokens": max_tokens, "stream": True,
                            "stream_options": {"include_usage": True}}  # fmt: skip
    if asks.endpoint == "completions":  # the chat prompt as raw text: no reasoning split on either server
        body["prompt"] = server.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        body["messages"] = messages
    headers = {"content-type": "application/json"}
    started = time.perf_counter()
    first, tokens, chunks, ok = None, 0, 0, False
    try:
        conn.request("POST", f"/v1/{asks.endpoint}", body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            response.read()
            return Outcome(kind, False, 0.0, time.perf_counter() - started, 0)
        # Read what has arrived in one call and parse only the events that matter (up to the first
        # token, finish reasons, usage): at thousands of events a second, a json.loads per event in
        # 16 client threads made the client, not the server, set the latency.
        pending = b""
        while piece := response.read1(65536):
            *lines, pending = (pending + piece).split(b"\n")
            for line in lines:
                if not line.startswith(b"data: {"):
                    continue
                chunks += 1
                if first is None or b'"usage"' in line or b'"finish_reason": "' in line or b'"finish_reason":"' in line:
                    event = json.loads(line[6:])
                    if event.get("usage"):
                        tokens = int(event["usage"]["completion_tokens"])
                    choice = event["choices"][0] if event.get("choices") else {}
                    ok = ok or bool(choice.get("finish_reason"))  # transformers serve sends no [DONE]
                    delta = choice.get("delta", {})
                    if first is None and (delta.get("content") or delta.get("reasoning_content") or choice.get("text")):
                        first = time.perf_counter()
                if kind == "hangup" and chunks >= 5:
                    conn.sock.close()  # type: ignore[union-attr]
                    now = time.perf_counter()
                    return Outcome(kind, True, (first or now) - started, now - started, 0)
    except (OSError, http.client.HTTPException):
        ok = False
    finally:
        conn.close()
    now = time.perf_counter()
    return Outcome(kind, ok, (first or now) - started, now - started, tokens)


def plan(count: int, seed: int) -> list[tuple[str, str]]:
    problems = unseen_problems(count, seed=seed)
    kinds = ["long" if i % 4 == 3 else "hangup" if i % 10 == 9 else "short" for i in range(count)]
    return [(kind, LONG if kind == "long" else p.question) for kind, p in zip(kinds, problems, strict=True)]


def level(server: Server, clients: int, requests: int, seed: int, asks: Requests) -> dict[str, float]:
    work = plan(requests, seed)
    lock, outcomes = threading.Lock(), []

    def client() -> None:
        while True:
            with lock:
                if not work:
                    return
                kind, question = work.pop(0)
            outcome = one_request(server, kind, question, asks)
            with lock:
                outcomes.append(outcome)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done = [o for o in outcomes if o.ok and o.kind != "hangup"]
    short = [o for o in done if o.kind == "short"]
    latencies = sorted(o.total_s for o in done)
    return {
        "requests/s": len(done) / wall,
        "tokens/s": sum(o.tokens for o in done) / wall,
        "ttft p50": statistics.median(o.ttft_s for o in done) if done else float("nan"),
        # Short requests alone: the demo model answers the long sum without an opening <think>, and
        # vibe holds such text until a tag shows which part it is (see bench/README.md).
        "ttft p50 short": statistics.median(o.ttft_s for o in short) if short else float("nan"),
        "p50": statistics.median(latencies) if done else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if done else float("nan"),
        "failed": float(sum(not o.ok for o in outcomes)),
    }


def short_behind_long(server: Server, asks: Requests, trials: int = 3) -> tuple[float, float, float]:
    """(short alone, short sent 1 s into a long one, the long one): medians in seconds."""
    short = "What is 48 + 37?"
    alone = statistics.median(one_request(server, "short", short, asks).total_s for _ in range(trials))
    during: list[float] = []
    long: list[float] = []
    for _ in range(trials):
        runner = threading.Thread(target=lambda: long.append(one_request(server, "long", LONG, asks).total_s))
        runner.start()
        time.sleep(1.0)  # the long one is decoding
        during.append(one_request(server, "short", short, asks).total_s)
        runner.join()
    return alone, statistics.median(during), statistics.median(long)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=demo_model_dir())
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--requests", type=int, default=2, help="requests per client at each level (at least 8)")
    parser.add_argument("--concurrency", type=int, default=16, help="vibe serve --concurrency")
    parser.add_argument("--reference", choices=["transformers", "transformers-cb"], default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--short-tokens", type=int, default=Requests.short_tokens, help="max_tokens of a short request")
    parser.add_argument(
        "--long-tokens",
        type=int,
        default=None,
        help="max_tokens of a long request (default: the rest of the demo model's context)",
    )
    parser.add_argument("--skip-short-behind-long", action="store_true")
    parser.add_argument("--endpoint", choices=["chat/completions", "completions"], default=Requests.endpoint,
                        help="completions: the rendered chat prompt as raw text, for random-weight models whose "
                        "untagged output vibe's reasoning split would hold back")  # fmt: skip
    args = parser.parse_args()
    asks = Requests(args.endpoint, args.short_tokens, args.long_tokens)
    names = ["vibe", *([args.reference] if args.reference else [])]
    levels = [int(c) for c in args.levels.split(",")]
    results: dict[str, dict[int, list[dict[str, float]]]] = {n: {c: [] for c in levels} for n in names}
    load_before = os.getloadavg()[0]
    print(f"model {args.model.name} · levels {args.levels} · vibe serve --concurrency {args.concurrency}")
    servers = {name: start(name, args.model, args.concurrency) for name in names}
    try:
        for server in servers.values():
            level(server, 2, 4, seed=1, asks=asks)  # warm-up
        for round_index in range(args.rounds):
            for clients in levels:
                order = names if round_index % 2 == 0 else names[::-1]
                for name in order:
                    stats = level(
                        servers[name], clients, max(8, clients * args.requests), seed=clients + round_index, asks=asks
                    )
                    results[name][clients].append(stats)
                    cells = "  ".join(f"{key} {value:7.3g}" for key, value in stats.items())
                    print(f"round {round_index + 1} {name:15} clients {clients:3}  {cells}", flush=True)
        if not args.skip_short_behind_long:
            for name, server in servers.items():
                alone, during, long = short_behind_long(server, asks)
                print(f"{name:15} short alone {alone:.2f}s · beside a long one {during:.2f}s "
                      f"({during / alone:.2f}x its solo latency) · the long one {long:.2f}s "
                      f"(short/long {during / long:.2f})", flush=True)  # fmt: skip
    finally:
        for server in servers.values():
            server.stop()
    print(f"\nmedians of {args.rounds} rounds (min-max) · load average (1 min) {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after · {os.cpu_count()} CPUs")  # fmt: skip
    for clients in levels:
        for name in names:
            cells = []
            for key in results[name][clients][0]:
                values = [stats[key] for stats in results[name][clients]]
                cells.append(f"{key} {statistics.median(values):.3g} ({min(values):.3g}-{max(values):.3g})")
            print(f"clients {clients:3} {name:15} " + " · ".join(cells))
        if args.reference:
            ours, theirs = (statistics.median(s["tokens/s"] for s in results[n][clients]) for n in names)
            ratio = ours / theirs if theirs else float("inf")
            print(f"clients {clients:3}: vibe / {args.reference} tokens/s = {ratio:.2f}x")


if __name__ == "__main__":
    main()
