#!/usr/bin/env bash
# The main job, end to end, on a fresh machine: starts a local S3 server (moto, which keeps
# keys exactly as AWS does), makes a throwaway GnuPG key, backs up fixtures/sample-tree with
# the shipped s3napback.conf (a FULL, then a DIFF after some changes), restores the newest
# state with `s3napback restore`, and shows that the restored tree equals the source.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
# The demo needs only gpg, tar, gzip and moto's S3 server (the tests need more).
if ! command -v gpg >/dev/null || ! command -v tar >/dev/null || ! command -v gzip >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnupg tar gzip >/dev/null
fi
py=$(bash scripts/moto-env.sh)
cargo build --release --quiet
bin=$top/target/release/s3napback

work=$(mktemp -d /tmp/s3napback-demo.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$py" -m moto.server -H 127.0.0.1 -p "$port" >"$work/s3-server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  "$py" -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
  sleep 0.1
done
echo "== local S3 server (moto) on http://127.0.0.1:$port"

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key 'Backup Test <backup@example.com>' default default never 2>/dev/null
echo "== throwaway GnuPG key for backup@example.com in $GNUPGHOME"

src=$work/srv/sample-tree
mkdir -p "$work/diffs" "$work/srv"
cp -a fixtures/sample-tree "$src"
printf 'key=demo\nsecret=demo\n' >"$work/key.txt"
chmod 600 "$work/key.txt"
sed -e "s|^DiffDir .*|DiffDir $work/diffs|" \
    -e "s|^TempDir .*|TempDir $work|" \
    -e "s|^Bucket .*|Bucket s3napback-demo|" \
    -e "s|^S3Keyfile .*|S3Keyfile $work/key.txt|" \
    -e "s|^#S3Endpoint .*|S3Endpoint http://127.0.0.1:$port|" \
    -e "s|^#S3Region .*|S3Region us-east-1|" \
    -e "s|/srv/sample-tree|$src|g" \
    s3napback.conf >"$work/demo.conf"
cp s3napback.logconfig "$work/log.conf"
sed -i -e 's|^log4perl.rootLogger.*|log4perl.rootLogger = INFO, Screen|' "$work/log.conf"

# 2026-11-12 is a FULL day of the sample's daily cycle (Diffs 6, Fulls 2), 11-13 a DIFF day.
echo "== backup 1 (FULL)"
"$bin" --logconfig "$work/log.conf" -c "$work/demo.conf" --now '2026-11-12 03:00:00'
echo "changed on day two" >>"$src/etc/app.conf"
echo "new on day two" >"$src/docs/new.txt"
rm "$src/docs/with space/note.txt"
sleep 1
echo "== backup 2 (DIFF: one file changed, one added, one deleted)"
"$bin" --logconfig "$work/log.conf" -c "$work/demo.conf" --now '2026-11-13 03:00:00'

echo "== s3napback list"
"$bin" list --logconfig "$work/log.conf" -c "$work/demo.conf"

echo "== s3napback status"
"$bin" status --logconfig "$work/log.conf" -c "$work/demo.conf"

echo "== s3napback verify --deep (every chunk downloaded, MD5 checked, decrypted, tar read)"
"$bin" verify --logconfig "$work/log.conf" -c "$work/demo.conf" --deep

echo "== s3napback restore (newest FULL + DIFFs, decrypted, extracted)"
"$bin" restore --logconfig "$work/log.conf" -c "$work/demo.conf" --into "$work/restored" "$src"

echo "== compare"
diff -r --no-dereference "$src" "$work/restored$src"
echo "OK: the restored tree equals the source ($(find "$src" | wc -l) entries)"
