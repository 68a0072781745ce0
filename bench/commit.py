#!/usr/bin/env python3
"""The price of the staged commit, and the tool's overhead over tar, as ratios against
baselines run in the same invocation (bench/run.py is the full comparison).

  python3 bench/commit.py [--mb 64] [--binary target/release/s3napback] [--commit-only]

Starts moto's S3 server on 127.0.0.1, makes a tree of incompressible data, then measures
(wall time and peak RSS of the child processes, via getrusage):
  baseline      tar -czp of the tree into a pipe (the work the source stage must do)
  s3napback     a real backup of the same tree to the local S3 server (ChunkSize 4 MB)
  s3napback-big the same with ChunkSize 32 MB (memory grows with ChunkSize, not data size)
and prints each as a ratio to the baseline. Absolute numbers depend on the machine; the
ratios show the tool's overhead over the pipeline it drives and its memory bound.

Then the price of never losing a kept slot: a backup is uploaded under a staging prefix and
committed by server-side copies (CopyObject) into the slot, then the staging is deleted.
With boto3 against the same server, for the same data cut into 4 MB chunks:
  upload        PUT of every chunk (what a backup sends in any case)
  commit        CopyObject of every chunk + DeleteObjects of the staging (the extra step)
printed as commit / upload. (`--commit-only` skips the tool runs: no release build needed.)
"""
import argparse, os, resource, shutil, socket, subprocess, sys, tempfile, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


MEASURE = """
import resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
wall = time.monotonic() - start
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(wall, r.ru_maxrss, r.ru_utime + r.ru_stime)
"""


def measure(argv):
    """Wall time, peak RSS (kB) of the largest process of the run, CPU seconds; each run in
    a fresh wrapper so one run's peak cannot hide another's."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *argv], check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), float(out[2])


def commit_cost(port, mb, chunk=4 << 20):
    """Times PUT of the chunks vs CopyObject + delete of the same chunks (best of 3)."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                      aws_access_key_id="bench", aws_secret_access_key="bench")
    s3.create_bucket(Bucket="bench-commit")
    data = os.urandom(chunk)
    n = max(1, (mb << 20) // chunk)
    staged = [f".s3napback/staging//src-0-FULL/1-1:{i:020}" for i in range(n)]
    best_put = best_commit = float("inf")
    for _ in range(3):
        start = time.monotonic()
        for key in staged:
            s3.put_object(Bucket="bench-commit", Key=key, Body=data)
        best_put = min(best_put, time.monotonic() - start)
        start = time.monotonic()
        for i, key in enumerate(staged):
            s3.copy_object(Bucket="bench-commit", Key=f"/src-0-FULL:{i:020}",
                           CopySource={"Bucket": "bench-commit", "Key": key})
        s3.delete_objects(Bucket="bench-commit",
                          Delete={"Objects": [{"Key": k} for k in staged], "Quiet": True})
        best_commit = min(best_commit, time.monotonic() - start)
    print(f"{n} chunks of {chunk >> 20} MB: upload (PUT) {best_put:.2f}s, "
          f"commit (CopyObject + delete) {best_commit:.2f}s, commit / upload {best_commit / best_put:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--binary", default="target/release/s3napback")
    ap.add_argument("--commit-only", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="s3napback-bench.")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                time.sleep(0.1)
        src = os.path.join(work, "src")
        os.makedirs(src)
        for i in range(a.mb // 8):
            with open(os.path.join(src, f"part{i}.bin"), "wb") as f:
                f.write(os.urandom(8 << 20))
        os.makedirs(os.path.join(work, "diffs"))
        with open(os.path.join(work, "key.txt"), "w") as f:
            f.write("key=bench\nsecret=bench\n")
        with open(os.path.join(work, "log.conf"), "w") as f:
            f.write("log4perl.rootLogger = WARN, Screen\n"
                    "log4perl.appender.Screen = Log::Log4perl::Appender::Screen\n"
                    "log4perl.appender.Screen.layout = Log::Log4perl::Layout::SimpleLayout\n")

        def conf(name, chunk):
            path = os.path.join(work, name)
            with open(path, "w") as f:
                f.write(f"DiffDir {work}/diffs\nBucket bench-{name.split('.')[0]}\nS3Keyfile {work}/key.txt\n"
                        f"ChunkSize {chunk}\nS3Endpoint http://127.0.0.1:{port}\nS3Region us-east-1\n"
                        f"Diffs 0\nDirectory {src}\n")
            return path

        commit_cost(port, a.mb)
        if a.commit_only:
            return
        rows = []
        rows.append(("baseline (tar -czp | cat > /dev/null)",) +
                    measure(["sh", "-c", 'exec tar -f - -C / -czp "$1" | cat >/dev/null', "tar", src.lstrip("/")]))
        for label, chunk, name in [("s3napback, ChunkSize 4 MB", 4 << 20, "small.conf"),
                                   ("s3napback, ChunkSize 32 MB", 32 << 20, "big.conf")]:
            c = conf(name, chunk)
            rows.append((label,) + measure([binary, "--logconfig", os.path.join(work, "log.conf"), "-f", "-c", c]))
        base_wall, base_rss = rows[0][1], rows[0][2]
        print(f"{a.mb} MB of incompressible data, moto S3 on 127.0.0.1")
        print(f"{'run':36} {'wall':>8} {'x base':>7} {'peak RSS':>10} {'x base':>7}")
        for label, wall, rss, cpu in rows:
            print(f"{label:36} {wall:7.2f}s {wall / base_wall:7.2f} {rss / 1024:8.1f}MB {rss / base_rss:7.2f}")
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
