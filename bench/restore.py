#!/usr/bin/env python3
"""Speed of a Directory restore, as ratios against the bare pipeline in the same invocation.

  python3 bench/restore.py [--mb 64] [--files 20000] [--repeat 3] [--binary target/release/s3napback]

Makes a tree of incompressible data (8 MB files) plus many small files in nested
directories (each member costs the restore's tar-header guard a few checks), backs it up
encrypted with s3napback to moto's S3 server on 127.0.0.1, then measures (wall time, CPU
seconds of the child processes):
  baseline    gpg -d < STREAM | tar -xz -g /dev/null -C DIR (the same FULL stream, local)
  gzip -dc    gpg -d < STREAM | gzip -dc | tar -x -g /dev/null -C DIR (the restore's shape
              until it inflated in process)
  s3napback   s3napback restore --into DIR ITEM (GETs from the S3 server, gzip inflated in
              process, the tar-header guard included)
and prints each (the best of --repeat runs, the three interleaved) as a ratio to the baseline.
"""
import argparse, os, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(__file__))
from run import measure, start_moto, tool_files  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--binary", default="target/release/s3napback")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    work = tempfile.mkdtemp(prefix="s3napback-restore-bench.")
    server = start_moto(work)
    env = dict(os.environ, GNUPGHOME=os.path.join(work, "gnupg"))
    os.makedirs(env["GNUPGHOME"], mode=0o700)
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                        "Bench <bench@example.com>", "default", "default", "never"],
                       env=env, check=True, capture_output=True)
        src = os.path.join(work, "src")
        os.makedirs(src)
        for i in range(a.mb // 8):
            with open(os.path.join(src, f"part{i}.bin"), "wb") as f:
                f.write(os.urandom(8 << 20))
        for i in range(a.files):
            d = os.path.join(src, "small", f"d{i % 50}", f"e{i % 7}")
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"f{i}.txt"), "wb") as f:
                f.write(os.urandom(512).hex().encode())
        os.makedirs(os.path.join(work, "diffs"))
        log, _ = tool_files(work, "bench", "bench")
        conf = os.path.join(work, "s3napback.conf")
        with open(conf, "w") as f:
            f.write(f"DiffDir {work}/diffs\nBucket bench-restore\nS3Keyfile {work}/key.txt\n"
                    f"ChunkSize {8 << 20}\nS3Endpoint {server.endpoint}\nS3Region {server.region}\n"
                    f"GpgRecipient bench@example.com\nDiffs 0\nDirectory {src}\n")
        subprocess.run([binary, "--logconfig", log, "-f", "-c", conf], env=env, check=True)
        stream = os.path.join(work, "stream.gpg")
        with open(stream, "wb") as out:
            tar = subprocess.Popen(["tar", "-f", "-", "-g", os.path.join(work, "snap"), "-C", "/", "-czp",
                                    src.lstrip("/")], stdout=subprocess.PIPE)
            subprocess.run(["gpg", "--batch", "--trust-model", "always", "-r", "bench@example.com", "-e"],
                           stdin=tar.stdout, stdout=out, env=env, check=True)
            tar.wait()

        def fresh(name):
            d = os.path.join(work, name)
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            return d

        os.environ["GNUPGHOME"] = env["GNUPGHOME"]
        runs = [
            ("baseline (gpg -d | tar -xz)", lambda: [
                "sh", "-c", 'gpg --batch -q -d <"$1" | tar -xz -g /dev/null -C "$2"', "sh", stream,
                fresh("base")]),
            ("gpg -d | gzip -dc | tar -x", lambda: [
                "sh", "-c", 'gpg --batch -q -d <"$1" | gzip -dc | tar -x -g /dev/null -C "$2"', "sh",
                stream, fresh("plain")]),
            ("s3napback restore", lambda: [
                binary, "restore", "--logconfig", log, "-c", conf, "--into", fresh("restore"), src]),
        ]
        best = {}
        for _ in range(a.repeat):
            for label, argv in runs:
                wall, rss, cpu, status, err = measure(argv())
                if status != 0:
                    sys.exit(f"{label}: exit status {status}\n{err.decode(errors='replace')[-3000:]}")
                old = best.get(label, (float("inf"), 0, float("inf")))
                best[label] = (min(old[0], wall), rss, min(old[2], cpu))
        rows = [(label,) + best[label] for label, _ in runs]
        base_wall, base_cpu = rows[0][1], rows[0][3]
        print(f"{a.mb} MB incompressible + {a.files} small files, encrypted, moto S3 on 127.0.0.1")
        print(f"{'run':40} {'wall':>8} {'x base':>7} {'cpu':>8} {'x base':>7}")
        for label, wall, _rss, cpu in rows:
            print(f"{label:40} {wall:7.2f}s {wall / base_wall:7.2f} {cpu:7.2f}s {cpu / base_cpu:7.2f}")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
