#!/usr/bin/env python3
"""Peak memory of backup, restore and `verify --deep` of a large stream, with a large
ChunkSize and with the default one (issue 18: at most 256 MiB whatever the ChunkSize).

  cargo build --release && python3 bench/memory.py [--mb 1536] [--server garage|moto]

One invocation:
  1. writes one file of --mb MB of random bytes (incompressible: the stream the tool
     uploads is as large as the file);
  2. starts a local single-node Garage (as bench/run.py does; moto when there is no
     garage binary) and a throw-away GnuPG home with one key;
  3. for ChunkSize 1000000000 and for the default 25000000: a FULL backup of the file's
     folder (`Compressor pigz` and `GpgCompression no`: the fast settings, so that the
     case takes minutes, not a quarter of an hour; the memory of the tool does not depend
     on them), then `verify --deep` and `restore` of it; the restored file is compared
     with the source;
  4. prints a Markdown table: wall seconds and peak RSS (the largest single process of
     the run, from wait4's rusage: the tool itself; gpg, tar and gzip stay far below)
     of each run, and whether it is within 256 MiB. Exits 1 when one is not.

Python 3 standard library only.
"""
import argparse
import filecmp
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (RECIPIENT, NOW, garage_binary, gpg_home, measure, note,  # noqa: E402
                 start_garage, start_moto, tool_files)

LIMIT_KB = 256 * 1024
LATER = "2026-11-12 12:00:00"  # restore and verify, the day of the backup


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=1536, help="size of the stream (default 1536)")
    ap.add_argument("--binary", default="target/release/s3napback")
    ap.add_argument("--server", choices=["garage", "moto"], default="garage")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"{binary} not found: run `cargo build --release` first")

    work = tempfile.mkdtemp(prefix="s3napback-memory.")
    server = None
    try:
        src = os.path.join(work, "src")
        os.makedirs(src)
        note(f"writing {a.mb} MB of random bytes in {src}")
        with open(os.path.join(src, "big.bin"), "wb") as f:
            for _ in range(a.mb):
                f.write(os.urandom(1 << 20))

        env = gpg_home(work)
        garage = garage_binary() if a.server == "garage" else None
        server = start_garage(garage, work) if garage else start_moto(work)
        env.update(server.env())
        logconf, keyfile = tool_files(work, server.key, server.secret)

        rows = []
        for chunk_size in (1_000_000_000, 25_000_000):
            bucket = f"memory-{chunk_size}"
            server.make_bucket(bucket)
            diffs = os.path.join(work, f"diffs-{chunk_size}")
            os.makedirs(diffs)
            conf = os.path.join(work, f"{chunk_size}.conf")
            with open(conf, "w") as f:
                f.write(f"DiffDir {diffs}\nTempDir {work}\nBucket {bucket}\n"
                        f"S3Keyfile {keyfile}\nChunkSize {chunk_size}\n"
                        f"S3Endpoint {server.endpoint}\nS3Region {server.region}\n"
                        f"GpgRecipient {RECIPIENT}\nCompressor pigz\nGpgCompression no\n"
                        f"Diffs 0\nFulls 1\nDirectory {src}\n")
            out = os.path.join(work, f"out-{chunk_size}")
            tool = [binary, "--logconfig", logconf]
            runs = [
                ("backup", [*tool, "-c", conf, "-f", "--now", NOW]),
                ("verify --deep", [*tool, "verify", "-c", conf, "--deep", "--now", LATER]),
                ("restore", [*tool, "restore", "-c", conf, "--into", out, "--now", LATER, src]),
            ]
            for label, argv in runs:
                wall, rss, _cpu, status, err = measure(argv, env)
                if status != 0:
                    sys.exit(f"{label} (ChunkSize {chunk_size}): exit status {status}\n"
                             f"{err.decode(errors='replace')[-3000:]}")
                note(f"  ChunkSize {chunk_size}, {label}: {wall:.1f} s, {rss / 1024:.0f} MiB")
                rows.append((chunk_size, label, wall, rss))
            restored = os.path.join(out, src.lstrip("/"), "big.bin")
            if not filecmp.cmp(restored, os.path.join(src, "big.bin"), shallow=False):
                sys.exit(f"the restore of ChunkSize {chunk_size} differs from the source")
            shutil.rmtree(out)

        print(f"\n{a.mb} MB stream, {server.kind}, fast settings; the limit is 256 MiB.\n")
        print("| ChunkSize | run | wall s | peak RSS MiB | within 256 MiB |")
        print("|---:|---|---:|---:|---|")
        ok = True
        for chunk_size, label, wall, rss in rows:
            within = rss <= LIMIT_KB
            ok &= within
            print(f"| {chunk_size} | {label} | {wall:.1f} | {rss / 1024:.0f} | "
                  f"{'yes' if within else 'NO'} |")
        sys.exit(0 if ok else 1)
    finally:
        if server:
            server.stop()
        if a.keep:
            note(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
