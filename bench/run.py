#!/usr/bin/env python3
"""Backup and restore speed and memory against the pipelines and tools users would pick
instead, as ratios to the bare legacy pipeline timed in the same invocation.

  cargo build --release && python3 bench/run.py [--mb 200] [--rounds 3] [--objects 100000]

One invocation:
  1. builds a reproducible tree (seeded): --mb MB, half text-like, half random bytes;
  2. starts a local single-node Garage on LMDB (~/.cargo/bin/garage or PATH; else moto,
     with a notice), a local three-node Garage cluster (replication factor 3, one zone
     per node, all on 127.0.0.1; only with a garage binary, else skipped with a notice)
     and a throw-away GnuPG home with one key; every timed case, the restores and the
     listing wait until their server is idle again after the writes before them;
  3. times, alternating the order every round and repeating --rounds times (medians):
       backup:  the bare legacy pipeline `tar -czp | gpg -e > /dev/null` (the baseline);
                this tool's full backup with default settings, the same to the
                three-node Garage cluster (its own bucket and config; in its own rounds
                after the others, in the same table), with `Compressor pigz`
                + `GpgCompression no` (the fast settings), and with those and
                `S3PayloadSigning no` (upload bodies not signed); the bare fast
                pipelines without upload, with the pigz program and with the tool's
                own stage (`s3napback gzip`, which `Compressor pigz` runs); `tar -czp | gpg -e | aws s3 cp -` (when the AWS
                CLI works); restic and duplicity to the same server (each skipped with a
                notice when absent);
       restore: the bare legacy restore `gpg -d < stream | tar -xz -g /dev/null`
                (the baseline) and this tool's `restore` of its default-settings FULL;
  4. the listing case: one slot of --objects objects (ChunkSize 1), then `status`, `list`,
     `verify` and a test-mode run (which checks "already done today") on that bucket;
  5. prints Markdown tables of medians, ratios to the baseline, CPU time, the local S3
     server's CPU time during the case and peak RSS (the largest single process of the
     run, from wait4's rusage), and the least wall time the machine's cores allow the
     fast-settings backups (their CPU plus the server's, over the cores).

Python 3 standard library only.
"""
import argparse
import datetime
import http.client
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

RECIPIENT = "bench@s3napback.invalid"
NOW = "2026-11-12 03:00:00"  # any fixed day: every run is the same FULL slot (with -f)
LISTING_SLOTS = 8  # the listing bucket is stored by this many runs at once


def note(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the tree

def build_tree(root, mb, seed):
    """MB megabytes under ROOT: half text (words drawn from a Zipf-like vocabulary, which
    gzip shrinks to about a third), half random bytes (incompressible). Same seed, same
    bytes."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10)))
             for _ in range(5000)]
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    vocab.append("\n")
    weights.append(sum(weights) / 12)  # about twelve words a line
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    half = (mb << 20) // 2
    for kind in ("text", "bin"):
        written, n = 0, 0
        while written < half:
            size = min(rng.randint(16 << 10, 4 << 20), half - written)
            folder = os.path.join(root, kind, f"d{n // 20:03d}")
            os.makedirs(folder, exist_ok=True)
            if kind == "text":
                words = rng.choices(vocab, cum_weights=cum, k=size // 6 + 16)
                data = " ".join(words).encode()[:size]
            else:
                data = rng.randbytes(size)
            with open(os.path.join(folder, f"f{n:05d}.{kind}"), "wb") as f:
                f.write(data)
            written += size
            n += 1


# ---------------------------------------------------------------- servers

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_port(port, child, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            sys.exit(f"{what} exited early (status {child.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen on 127.0.0.1:{port} within {seconds} s")


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Server:
    """A local S3 server: endpoint, region, credentials, and its buckets. `child` is the
    process the S3 endpoint talks to; `others` are more processes of the same server (the
    other nodes of a cluster), watched by `settle` and stopped by `stop` with it."""

    def __init__(self, kind, endpoint, region, key, secret, child, make_bucket, others=()):
        self.kind, self.endpoint, self.region = kind, endpoint, region
        self.key, self.secret, self.child = key, secret, child
        self.make_bucket = make_bucket
        self.others = list(others)

    def cpu(self):
        """CPU seconds of all the server's processes so far, or None."""
        total = 0.0
        for child in [self.child, *self.others]:
            used = cpu_seconds(child.pid)
            if used is None:
                return None
            total += used
        return total

    def env(self):
        return {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret,
                "AWS_DEFAULT_REGION": self.region, "AWS_REGION": self.region}

    def settle(self, quiet=0.05, limit=300, report=True):
        """Flushes dirty pages to disk, then waits until the server's CPU use stays under
        `quiet` (a share of one core) for a second, so that a timed case does not share the
        machine with writeback or the server's background work left over from the writes
        before it."""
        start = time.monotonic()
        os.sync()  # the writes before, on disk: no writeback during the next case
        last = self.cpu()
        while time.monotonic() - start < limit:
            time.sleep(1)
            now = self.cpu()
            if now is None or last is None or now - last < quiet:
                break
            last = now
        if report:
            note(f"  (the server settled in {time.monotonic() - start:.0f} s)")

    def stop(self):
        children = [self.child, *self.others]
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def garage_binary():
    found = shutil.which("garage")
    if found:
        return found
    home = os.path.expanduser("~/.cargo/bin/garage")
    return home if os.access(home, os.X_OK) else None


def write_garage_conf(conf, d, replication, s3_port, rpc_port, secret):
    """Writes CONF for a Garage node keeping its data in D on LMDB, listening on 127.0.0.1.
    Every stream timed here is compressed or encrypted: zstd on the server (Garage's
    default, level 1) would only burn the cores the cases share, so it is off."""
    with open(conf, "w") as f:
        f.write(f'metadata_dir = "{d}/meta"\ndata_dir = "{d}/data"\ndb_engine = "lmdb"\n'
                f'compression_level = "none"\n'
                f'replication_factor = {replication}\nrpc_bind_addr = "127.0.0.1:{rpc_port}"\n'
                f'rpc_public_addr = "127.0.0.1:{rpc_port}"\nrpc_secret = "{secret}"\n'
                f'[s3_api]\ns3_region = "garage"\napi_bind_addr = "127.0.0.1:{s3_port}"\n'
                f'root_domain = ".s3.garage.localhost"\n')


def gpg_home(work):
    """A throw-away GnuPG home in WORK with one key for RECIPIENT; returns the environment
    to run with (GNUPGHOME set, TZ=UTC)."""
    gnupg = os.path.join(work, "gnupg")
    os.makedirs(gnupg, mode=0o700)
    env = dict(os.environ, GNUPGHOME=gnupg, TZ="UTC")
    subprocess.run(["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-gen-key",
                    RECIPIENT, "default", "default", "never"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    return env


def start_garage(binary, work):
    """A single-node Garage as tests/it/support/s3.rs starts it, but on LMDB, Garage's
    default and recommended metadata engine (the tests use SQLite, which lists 1.5 times
    slower), and without Garage's own zstd compression of stored blocks, which encrypted
    and compressed uploads gain nothing from and which would take CPU from the cases on
    the same cores."""
    d = os.path.join(work, "garage")
    os.makedirs(d)
    conf = os.path.join(d, "garage.toml")
    s3_port, rpc_port = free_port(), free_port()
    write_garage_conf(conf, d, 1, s3_port, rpc_port, os.urandom(32).hex())
    log = open(os.path.join(d, "garage.log"), "w")
    child = subprocess.Popen([binary, "-c", conf, "server"], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log)
    wait_for_port(rpc_port, child, "garage")

    def cli(*args, retry=True):
        deadline = time.monotonic() + 30
        while True:
            p = subprocess.run([binary, "-c", conf, *args], capture_output=True, text=True,
                               stdin=subprocess.DEVNULL)
            if p.returncode == 0 or not retry or time.monotonic() > deadline:
                if p.returncode != 0:
                    sys.exit(f"garage {' '.join(args)} failed: {p.stdout}{p.stderr}")
                return p.stdout + p.stderr
            time.sleep(0.5)

    node = cli("node", "id", "-q").strip().split("@")[0]
    cli("layout", "assign", "-z", "dc1", "-c", "100G", node, retry=False)
    cli("layout", "apply", "--version", "1", retry=False)
    out = cli("key", "create", "bench-key")

    def field(name):
        for line in out.splitlines():
            if line.strip().startswith(name):
                return line.strip()[len(name):].strip()
        sys.exit(f"no {name} in `garage key create` output:\n{out}")

    key, secret = field("Key ID:"), field("Secret key:")

    def make_bucket(name):
        cli("bucket", "create", name)
        cli("bucket", "allow", "--read", "--write", "--owner", name, "--key", "bench-key")

    wait_for_port(s3_port, child, "garage", 30)
    return Server("garage", f"http://127.0.0.1:{s3_port}", "garage", key, secret, child,
                  make_bucket)


def start_garage_cluster(binary, work, nodes=3):
    """A three-node Garage cluster on 127.0.0.1: each node with its own directories, S3
    and RPC ports, one shared rpc_secret, replication factor 3 (every block and table entry
    written to all three nodes), one zone per node, LMDB and no block compression as in
    start_garage. The S3 endpoint is node 0's; stop() stops all three."""
    secret = os.urandom(32).hex()
    confs, children, rpc_ports, s3_ports = [], [], [], []
    try:
        for n in range(nodes):
            d = os.path.join(work, "garage-cluster", f"node{n}")
            os.makedirs(d)
            conf = os.path.join(d, "garage.toml")
            s3_port, rpc_port = free_port(), free_port()
            write_garage_conf(conf, d, nodes, s3_port, rpc_port, secret)
            log = open(os.path.join(d, "garage.log"), "w")
            children.append(subprocess.Popen([binary, "-c", conf, "server"],
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log))
            log.close()  # the child holds its own copy
            confs.append(conf)
            rpc_ports.append(rpc_port)
            s3_ports.append(s3_port)
        for n in range(nodes):
            wait_for_port(rpc_ports[n], children[n], f"garage cluster node {n}")

        def cli(n, *args, retry=True):
            deadline = time.monotonic() + 30
            while True:
                p = subprocess.run([binary, "-c", confs[n], *args], capture_output=True,
                                   text=True, stdin=subprocess.DEVNULL)
                if p.returncode == 0 or not retry or time.monotonic() > deadline:
                    if p.returncode != 0:
                        sys.exit(f"garage (cluster node {n}) {' '.join(args)} failed: "
                                 f"{p.stdout}{p.stderr}")
                    return p.stdout + p.stderr
                time.sleep(0.5)

        full_ids = [cli(n, "node", "id", "-q").strip().splitlines()[-1].strip()
                    for n in range(nodes)]
        short_ids = [i.split("@")[0] for i in full_ids]
        for n in range(1, nodes):
            cli(0, "node", "connect", full_ids[n])
        for n in range(nodes):
            cli(0, "layout", "assign", "-z", f"dc{n + 1}", "-c", "100G", short_ids[n],
                retry=False)
        cli(0, "layout", "apply", "--version", "1", retry=False)

        # healthy: every node connected, with its role in the applied layout, and no
        # node listed as failed
        deadline = time.monotonic() + 60
        while True:
            status = subprocess.run([binary, "-c", confs[0], "status"], capture_output=True,
                                    text=True, stdin=subprocess.DEVNULL)
            out = status.stdout
            # the rows under "==== HEALTHY NODES ====", up to the next "====" heading
            healthy = out.split("HEALTHY NODES", 1)[1].partition("\n")[2].split("====", 1)[0] \
                if "HEALTHY NODES" in out else ""
            rows = [line for line in healthy.splitlines() if line.strip()]
            if (status.returncode == 0 and "FAILED NODES" not in out
                    and all(any(line.startswith(i[:16]) and "NO ROLE" not in line
                                for line in rows) for i in short_ids)):
                break
            if time.monotonic() > deadline:
                sys.exit(f"the garage cluster did not become healthy within 60 s:\n"
                         f"{out}{status.stderr}")
            time.sleep(0.5)

        out = cli(0, "key", "create", "bench-key")

        def field(name):
            for line in out.splitlines():
                if line.strip().startswith(name):
                    return line.strip()[len(name):].strip()
            sys.exit(f"no {name} in `garage key create` output:\n{out}")

        key, key_secret = field("Key ID:"), field("Secret key:")

        def make_bucket(name):
            cli(0, "bucket", "create", name)
            cli(0, "bucket", "allow", "--read", "--write", "--owner", name, "--key", "bench-key")

        for n in range(nodes):
            wait_for_port(s3_ports[n], children[n], f"garage cluster node {n}", 30)
    except BaseException:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        raise
    return Server(f"garage cluster ({nodes} nodes)", f"http://127.0.0.1:{s3_ports[0]}",
                  "garage", key, key_secret, children[0], make_bucket, others=children[1:])


def start_moto(work):
    python = os.environ.get("S3NAPBACK_MOTO_PYTHON") or os.path.abspath(
        "target/moto-venv/bin/python")
    if not os.access(python, os.X_OK):
        python = sys.executable
    port = free_port()
    child = subprocess.Popen([python, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, child, "moto")

    def make_bucket(name):
        # moto does not check signatures: a bare PUT creates the bucket
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("PUT", f"/{name}")
        conn.getresponse().read()
        conn.close()

    return Server("moto", f"http://127.0.0.1:{port}", "us-east-1", "bench", "bench", child,
                  make_bucket)


def tool_files(work, key, secret):
    """The tool's log config (WARN and above to the screen) and S3 keyfile (mode 0600, as
    the tool asks of a file holding a secret) in WORK; returns their paths."""
    logconf = os.path.join(work, "log.conf")
    with open(logconf, "w") as f:
        f.write("log4perl.rootLogger = WARN, Screen\n"
                "log4perl.appender.Screen = Log::Log4perl::Appender::Screen\n"
                "log4perl.appender.Screen.layout = Log::Log4perl::Layout::SimpleLayout\n")
    keyfile = os.path.join(work, "key.txt")
    with open(os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(f"key={key}\nsecret={secret}\n")
    return logconf, keyfile


# ---------------------------------------------------------------- measuring

def measure(argv, env=None, cwd=None):
    """Wall seconds, peak RSS (kB) of the largest single process of the run, CPU seconds
    of the whole process tree, exit status."""
    start = time.monotonic()
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr_file = p.stderr
    err = stderr_file.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    stderr_file.close()
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, p.returncode, err


class Case:
    """One timed command; `setup` runs untimed before each repetition."""

    def __init__(self, label, argv, env, setup=None, accept=(0,)):
        self.label, self.argv, self.env, self.setup = label, argv, env, setup
        self.accept = accept
        self.walls, self.rss, self.cpus, self.status = [], 0, [], None
        self.server_cpus = []  # CPU seconds the S3 server spent during each repetition

    def run(self, round_no):
        if self.setup:
            self.setup(round_no)
        argv = self.argv(round_no) if callable(self.argv) else self.argv
        wall, rss, cpu, status, err = measure(argv, self.env)
        if status not in self.accept:
            sys.exit(f"{self.label}: exit status {status}\n{argv}\n{err.decode(errors='replace')[-3000:]}")
        self.walls.append(wall)
        self.cpus.append(cpu)
        self.rss = max(self.rss, rss)
        self.status = status
        note(f"  {self.label}: {wall:.2f} s, {rss / 1024:.0f} MB")


def run_rounds(cases, rounds, server=None):
    """Runs every case `rounds` times in alternated order; with `server`, each after the
    server is idle again (so no case pays for the server's background work, such as
    Garage freeing the blocks of the objects the case before replaced)."""
    for r in range(rounds):
        order = cases[r % len(cases):] + cases[:r % len(cases)]
        if r % 2:
            order.reverse()
        note(f"round {r + 1}/{rounds}")
        for case in order:
            before = None
            if server:
                server.settle(report=False)
                before = server.cpu()
            case.run(r)
            after = server.cpu() if server else None
            if before is not None and after is not None:
                case.server_cpus.append(after - before)


def cell(label):
    """A Markdown table cell: pipes inside it escaped."""
    return label.replace("|", "\\|")


def table(title, cases, base):
    b = statistics.median(base.walls)
    lines = [f"| {title} | median | × baseline | CPU | server CPU | peak RSS |",
             "|---|---:|---:|---:|---:|---:|"]
    for c in cases:
        if not c.walls:
            continue
        m = statistics.median(c.walls)
        server = f"{statistics.median(c.server_cpus):.1f} s" if c.server_cpus else "-"
        lines.append(f"| {cell(c.label)} | {m:.2f} s | {m / b:.2f} | {statistics.median(c.cpus):.1f} s "
                     f"| {server} | {c.rss / 1024:.0f} MB |")
    return "\n".join(lines)


def cpu_floor(case, pipeline):
    """The fast backup against its own pipeline, and the least wall time this machine's
    cores allow it: the pipeline keeps every core busy, and the backup adds its uploads'
    work (the tool's hashing, the local server's) on the same cores, so no schedule runs
    it faster than (its CPU + the server's CPU) / cores."""
    if not case.walls or not pipeline.walls:
        return ""
    wall, pipe = statistics.median(case.walls), statistics.median(pipeline.walls)
    cpu, pipe_cpu = statistics.median(case.cpus), statistics.median(pipeline.cpus)
    server = statistics.median(case.server_cpus) if case.server_cpus else 0.0
    cores = os.cpu_count() or 1
    floor = (cpu + server) / cores
    return (f"{case.label}, against its own pipeline: {wall:.2f} s against {pipe:.2f} s, "
            f"{wall / pipe:.2f} ×. CPU: the tool {cpu:.1f} s + the local server {server:.1f} s "
            f"against the pipeline's {pipe_cpu:.1f} s; on {cores} cores no schedule runs the "
            f"backup in less than {floor:.2f} s ({floor / pipe:.2f} × the pipeline).")


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Linux {platform.release()}"


# ---------------------------------------------------------------- the run

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=200, help="size of the tree (default 200)")
    ap.add_argument("--rounds", type=int, default=3, help="repetitions (default 3)")
    ap.add_argument("--seed", type=int, default=11, help="seed of the tree (default 11)")
    ap.add_argument("--chunk-size", type=int, default=25_000_000,
                    help="ChunkSize of the tool's runs (default 25000000)")
    ap.add_argument("--objects", type=int, default=100_000,
                    help="objects of the listing case (default 100000; 0 skips it)")
    ap.add_argument("--binary", default="target/release/s3napback")
    ap.add_argument("--server", choices=["garage", "moto"], default="garage")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: run `cargo build --release` first")
    for tool in ("tar", "gpg", "pigz"):
        if not shutil.which(tool):
            sys.exit(f"`{tool}` is needed (scripts/install-test-deps.sh installs it)")

    work = tempfile.mkdtemp(prefix="s3napback-bench.")
    server = cluster = None
    try:
        note(f"building a {a.mb} MB tree (seed {a.seed}) in {work}")
        src = os.path.join(work, "tree")
        build_tree(src, a.mb, a.seed)
        rel = src.lstrip("/")

        env = gpg_home(work)

        garage = garage_binary() if a.server == "garage" else None
        if a.server == "garage" and not garage:
            note("NOTICE: no garage binary (PATH or ~/.cargo/bin): using moto, which is much "
                 "slower; the ratios of the upload cases do not compare with a Garage run")
        server = start_garage(garage, work) if garage else start_moto(work)
        env.update(server.env())
        env.pop("AWS_ENDPOINT_URL", None)

        logconf, keyfile = tool_files(work, server.key, server.secret)

        made = set()

        def config(name, chunk_size, body, bucket=None, encrypt=True, srv=None, keys=None):
            """A config for the tool on SRV (default: the main server) with the S3 keyfile
            KEYS (default: the main server's)."""
            srv, keys = srv or server, keys or keyfile
            bucket = f"bench-{bucket or name}"
            if (id(srv), bucket) not in made:
                srv.make_bucket(bucket)
                made.add((id(srv), bucket))
            diffs = os.path.join(work, f"diffs-{name}")
            os.makedirs(diffs)
            path = os.path.join(work, f"{name}.conf")
            gpg = f"GpgRecipient {RECIPIENT}\n" if encrypt else ""
            with open(path, "w") as f:
                f.write(f"DiffDir {diffs}\nBucket {bucket}\nS3Keyfile {keys}\n"
                        f"ChunkSize {chunk_size}\nS3Endpoint {srv.endpoint}\n"
                        f"S3Region {srv.region}\n{gpg}Diffs 0\nFulls 4\n{body}")
            return path

        def tool(conf, *args):
            """The tool on CONF; a backup run (`-f`) is given the fixed clock NOW."""
            clock = ["--now", NOW] if "-f" in args else []
            return [binary, "--logconfig", logconf, *args, "-c", conf, *clock]

        default_conf = config("default", a.chunk_size, f"Directory {src}\n")
        fast_conf = config("fast", a.chunk_size,
                           f"Compressor pigz\nGpgCompression no\nDirectory {src}\n")
        tar_gpg = 'tar -czp -f - -C / "$1" | gpg --batch -r "$2" -e'
        base = Case("`tar -czp | gpg -e > /dev/null` (bare legacy pipeline)",
                    ["sh", "-c", tar_gpg + " > /dev/null", "sh", rel, RECIPIENT], env)
        unsigned_conf = config("unsigned", a.chunk_size,
                               "S3PayloadSigning no\nCompressor pigz\nGpgCompression no\n"
                               f"Directory {src}\n")
        fast = Case("s3napback, `Compressor pigz` + `GpgCompression no`", tool(fast_conf, "-f"), env)
        unsigned = Case("s3napback, the same + `S3PayloadSigning no`", tool(unsigned_conf, "-f"), env)
        fast_pipeline = Case(
            "`tar -cp | s3napback gzip | gpg -z 0 -e > /dev/null` (no upload)",
            ["sh", "-c", 'tar -cp -f - -C / "$1" | "$3" gzip | gpg --batch -z 0 -r "$2" -e > /dev/null',
             "sh", rel, RECIPIENT, binary], env)
        backups = [
            base,
            Case("s3napback, default settings (legacy commands)", tool(default_conf, "-f"), env),
            fast,
            unsigned,
            Case("`tar -cp | pigz | gpg -z 0 -e > /dev/null` (no upload)",
                 ["sh", "-c", 'tar -cp -f - -C / "$1" | pigz | gpg --batch -z 0 -r "$2" -e > /dev/null',
                  "sh", rel, RECIPIENT], env),
            fast_pipeline,
        ]
        if shutil.which("aws") and subprocess.run(["aws", "--version"], capture_output=True).returncode == 0:
            server.make_bucket("bench-aws")
            backups.append(Case("`tar -czp | gpg -e | aws s3 cp -`",
                                ["sh", "-c", tar_gpg + ' | aws --endpoint-url "$3" s3 cp - "s3://bench-aws/stream.gpg"',
                                 "sh", rel, RECIPIENT, server.endpoint], env))
        else:
            note("NOTICE: no working AWS CLI: `tar | gpg | aws s3 cp -` skipped")
        if shutil.which("restic"):
            server.make_bucket("bench-restic")
            renv = dict(env, RESTIC_PASSWORD="bench")
            repo = lambda r: f"s3:{server.endpoint}/bench-restic/repo-{r}"
            restic_opts = ["-o", f"s3.region={server.region}", "--cache-dir",
                           os.path.join(work, "restic-cache")]

            def restic_init(r):
                subprocess.run(["restic", "-r", repo(r), *restic_opts, "init"], env=renv,
                               check=True, capture_output=True)

            backups.append(Case("restic backup (fresh repository)",
                                lambda r: ["restic", "-r", repo(r), *restic_opts, "backup",
                                           "--quiet", src], renv, restic_init))
        else:
            note("NOTICE: restic not installed (apt-get install restic): skipped")
        duplicity_ok = shutil.which("duplicity") and subprocess.run(
            ["/usr/bin/python3", "-c", "import boto3"], capture_output=True).returncode == 0
        if duplicity_ok:
            server.make_bucket("bench-duplicity")
            denv = dict(env, PASSPHRASE="")
            backups.append(Case(
                "duplicity full (gpg, boto3)",
                lambda r: ["duplicity", "full", "--encrypt-key", RECIPIENT,
                           "--s3-endpoint-url", server.endpoint, "--s3-region-name", server.region,
                           "--archive-dir", os.path.join(work, "duplicity-archive"),
                           "--name", f"run-{r}", "--no-print-statistics", src,
                           f"boto3+s3://bench-duplicity/run-{r}"], denv))
        else:
            note("NOTICE: duplicity (with python3-boto3) not installed: skipped")

        cluster_case = None
        cluster_garage = garage or garage_binary()  # with --server moto too
        if cluster_garage:
            note("starting a three-node Garage cluster")
            cluster = start_garage_cluster(cluster_garage, work)
            cluster_keyfile = os.path.join(work, "key-cluster.txt")
            with open(os.open(cluster_keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                      "w") as f:
                f.write(f"key={cluster.key}\nsecret={cluster.secret}\n")
            cluster_conf = config("cluster", a.chunk_size, f"Directory {src}\n", srv=cluster,
                                  keys=cluster_keyfile)
            cluster_case = Case("s3napback, default settings, to a 3-node Garage cluster",
                                tool(cluster_conf, "-f"), dict(env, **cluster.env()))
        else:
            note("NOTICE: no garage binary (PATH or ~/.cargo/bin): the 3-node Garage cluster "
                 "case skipped")

        note("backups")
        run_rounds(backups, a.rounds, server)
        if cluster_case:
            note("backup to the 3-node Garage cluster")
            run_rounds([cluster_case], a.rounds, cluster)
            cluster.stop()  # not needed any more: no idle nodes beside the restores
            # in the table under the single-server default-settings case
            backups.insert(2, cluster_case)

        legacy_stream = os.path.join(work, "legacy.gpg")
        subprocess.run(["sh", "-c", tar_gpg + ' > "$3"', "sh", rel, RECIPIENT, legacy_stream],
                       env=env, check=True)
        out = os.path.join(work, "restored")

        def fresh_out(_round):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)

        restore_base = Case("`gpg -d < stream | tar -xz -g /dev/null` (bare legacy restore)",
                            ["sh", "-c", 'gpg --batch -q -d < "$1" | tar -xz -g /dev/null -C "$2"',
                             "sh", legacy_stream, out], env, fresh_out)
        restores = [restore_base,
                    Case("s3napback restore (the default-settings FULL)",
                         [binary, "--logconfig", logconf, "restore", "-c", default_conf,
                          "--into", out, src], env, fresh_out)]
        note("restores")
        run_rounds(restores, a.rounds, server)

        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        load = os.getloadavg()[1]
        print(f"\n{now}; {machine()}; load average {load:.1f} (5 min, after the restores); "
              f"{server.kind}{' and a 3-node Garage cluster' if cluster_case else ''} "
              f"on 127.0.0.1; {a.mb} MB tree "
              f"(seed {a.seed}, half text, half random); ChunkSize {a.chunk_size}; "
              f"medians of {a.rounds} alternated rounds\n")
        print(table("backup", backups, base))
        print()
        print(cpu_floor(fast, fast_pipeline))
        print()
        print(cpu_floor(unsigned, fast_pipeline))
        print()
        print(table("restore", restores, restore_base))
        sys.stdout.flush()
        listing = listing_case(a, work, config, tool, env, server) if a.objects > 0 else []
        if listing:
            print()
            lines = [f"| listing: {a.objects} objects, {LISTING_SLOTS} slots | median | CPU | peak RSS |",
                     "|---|---:|---:|---:|"]
            for c in listing:
                lines.append(f"| {cell(c.label)} | {statistics.median(c.walls):.2f} s "
                             f"| {statistics.median(c.cpus):.1f} s | {c.rss / 1024:.0f} MB |")
            print("\n".join(lines))
        piece = a.chunk_size if a.chunk_size <= 32 << 20 else 16 << 20
        bound = (4 + 1) * piece / 2**20 + 64
        print(f"\nPeak RSS bound for the tool (4 parallel uploads + 1) × min(ChunkSize, "
              f"16 MiB parts above 32 MiB) + 64 MiB = {bound:.0f} MiB "
              f"(bench/memory.py measures it at 1.5 GB)")
    finally:
        if cluster:
            cluster.stop()
        if server:
            server.stop()
        if a.keep:
            note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def listing_case(a, work, config, tool, env, server):
    """A bucket of about `a.objects` one-byte objects in LISTING_SLOTS slots (random files,
    tar -czp, ChunkSize 1; the slots are stored by parallel runs, one config each), then the
    commands that list it, on a config naming every slot's item."""
    dirs = []
    for part in range(LISTING_SLOTS):
        d = os.path.join(work, f"small{part}")
        os.makedirs(d)
        with open(os.path.join(d, "random.bin"), "wb") as f:
            # tar adds headers and pads to 10240 bytes, gzip a few more: about N objects
            f.write(random.Random(a.seed + part).randbytes(max(a.objects // LISTING_SLOTS - 400, 1)))
        dirs.append(d)
    note(f"listing: storing about {a.objects} objects in {LISTING_SLOTS} slots")
    start = time.monotonic()
    fills = [subprocess.Popen(tool(config(f"fill{part}", 1, f"Directory {d}\n", bucket="listing",
                                          encrypt=False), "-f"),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for part, d in enumerate(dirs)]
    if any(p.wait() != 0 for p in fills):
        sys.exit("storing the listing bucket failed")
    note(f"  ({time.monotonic() - start:.0f} s)")
    server.settle()  # after 100 000 PUTs Garage works on its tables for a minute or more
    items = "".join(f"Directory {d}\n" for d in dirs)
    conf = config("listing", 1, items, bucket="listing", encrypt=False)
    cases = [
        Case("`status`", tool(conf, "status"), env, accept=(0, 1)),
        Case("`list`", tool(conf, "list"), env),
        Case("`verify`", tool(conf, "verify"), env, accept=(0, 1)),
        Case("test-mode run (`-t`, \"already done today\")", tool(conf, "-t"), env),
    ]
    run_rounds(cases, a.rounds, server)
    return cases


if __name__ == "__main__":
    main()
