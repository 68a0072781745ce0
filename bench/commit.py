#!/usr/bin/env python3
"""The price of never losing a kept slot, as a ratio against the upload it follows.

  python3 bench/commit.py [--mb 64]

A backup is uploaded under a staging prefix and committed by server-side copies
(CopyObject) into the slot, then the staging is deleted. With boto3 against moto's S3
server on 127.0.0.1 (started as bench/run.py starts it), for the same data cut into 4 MB
chunks, the best of 3:
  upload        PUT of every chunk (what a backup sends in any case)
  commit        CopyObject of every chunk + DeleteObjects of the staging (the extra step)
printed as commit / upload. The whole-backup comparison is bench/run.py.
"""
import argparse, os, shutil, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
from run import start_moto  # noqa: E402


def commit_cost(server, mb, chunk=4 << 20):
    """Times PUT of the chunks vs CopyObject + delete of the same chunks (best of 3)."""
    import boto3
    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                      aws_access_key_id=server.key, aws_secret_access_key=server.secret)
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
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="s3napback-commit-bench.")
    server = start_moto(work)
    try:
        commit_cost(server, a.mb)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
