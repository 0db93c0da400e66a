#!/usr/bin/env python3
"""Full pipeline benchmark: orders → provisioned (plan mode) per second, and the idle and
loaded memory of every service. Starts the suite with scripts/run.sh on its own prefix and
database, posts N orders to the producer's API (8 keep-alive connections), and waits until the
dbwriter shows every deployment `provisioned`. Prints a Markdown table.

    scripts/bench-pipeline.py [ORDERS] [RUNS]     (default 2000 orders, 3 runs)
"""
import http.client, json, os, signal, statistics, subprocess, sys, threading, time, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_DIR = os.path.join(ROOT, ".eda-run")
SERVICES = ["producer", "dbwriter", "provisioner", "consumer"]


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def pids():
    out = {}
    for s in SERVICES:
        try:
            out[s] = int(open(os.path.join(RUN_DIR, f"{s}.pid")).read().strip())
        except (OSError, ValueError):
            pass
    return out


def psql(db, sql):
    r = subprocess.run(["psql", "-qtA", f"postgres://postgres@127.0.0.1:5432/{db}", "-c", sql],
                       capture_output=True, text=True)
    return r.stdout.strip()


def post_orders(port, token, clients):
    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for c in chunk:
            body = json.dumps({"client": c, "product": "product-a", "environment": "development",
                               "archtype": "saas", "hardware": "classic"})
            while True:
                conn.request("POST", "/api/v1/orders", body,
                             {"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
                r = conn.getresponse(); r.read()
                if r.status == 202:
                    break
                time.sleep(0.05)
    threads = [threading.Thread(target=worker, args=(clients[i::8],)) for i in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()


def one_run(n):
    tag = uuid.uuid4().hex[:6]
    env = dict(os.environ, EDA_PREFIX=f"pipe{tag}", DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/eda_pipe_{tag}",
               PRODUCER_API_TOKENS=f"tok{tag}", RUST_LOG="warn", PRODUCER_PORT="18080",
               EDA_PROFILE="release")
    log = open(f"/tmp/bench-pipeline-{tag}.log", "w")
    run = subprocess.Popen([os.path.join(ROOT, "scripts", "run.sh")], env=env, stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    db = f"eda_pipe_{tag}"
    deadline = time.time() + 300
    while psql(db, "SELECT count(*) FROM deployments WHERE status = 'provisioned'") != "1":
        if time.time() > deadline or run.poll() is not None:
            raise SystemExit(f"the suite did not start (see /tmp/bench-pipeline-{tag}.log)")
        time.sleep(0.2)
    port = 18080
    p = pids()
    idle = {s: rss_kb(pid, "VmRSS") for s, pid in p.items()}
    clients = [f"p{tag}-{i}" for i in range(n)]
    started = time.time()
    post_orders(port, f"tok{tag}", clients)
    posted = time.time() - started
    while int(psql(db, "SELECT count(*) FROM deployments WHERE status = 'provisioned'") or 0) < n + 1:
        if time.time() - started > 600:
            raise SystemExit("orders did not all reach provisioned within 600 s")
        time.sleep(0.1)
    elapsed = time.time() - started
    loaded = {s: rss_kb(pid, "VmHWM") for s, pid in p.items()}
    os.killpg(run.pid, signal.SIGTERM)
    run.wait(timeout=60)
    subprocess.run(["psql", "-q", "postgres://postgres@127.0.0.1:5432/postgres", "-c", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'],
                   capture_output=True)
    return n / elapsed, n / posted, idle, loaded


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    results = [one_run(n) for _ in range(runs)]
    print(f"| measure ({n} orders, median of {runs} runs) | value |\n| --- | ---: |")
    print(f"| orders → provisioned (plan mode), end to end | {statistics.median(r[0] for r in results):.0f} orders/s |")
    print(f"| orders accepted by the API (8 connections) | {statistics.median(r[1] for r in results):.0f} orders/s |")
    for s in SERVICES:
        idle = statistics.median(r[2].get(s, 0) for r in results) / 1024
        peak = statistics.median(r[3].get(s, 0) for r in results) / 1024
        print(f"| {s}: RSS idle / peak under load | {idle:.1f} / {peak:.1f} MiB |")


if __name__ == "__main__":
    main()
