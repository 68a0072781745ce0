#!/usr/bin/env bash
# Builds the Debian package with cargo-deb and lists its contents:
#   1. the release binary (cargo build --release),
#   2. the generated files cargo-deb installs, under target/assets/: the man page
#      (`s3napback man`) and the bash, zsh and fish completions (`s3napback completions`),
#   3. `cargo deb --no-build` (metadata in Cargo.toml, [package.metadata.deb]),
#   4. the control fields a distribution checks (Package, Version, Architecture,
#      Maintainer as 'Name <address>', not on localhost, Section, Priority, Depends,
#      Description) and the copyright file with the Apache-2.0 license,
#   5. `dpkg-deb -c` of the package.
# Prints the package's path last. Install it with `apt install ./target/debian/s3napback_*.deb`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked
cargo build --release
bin=target/release/s3napback
assets=target/assets
mkdir -p "$assets/completions"
"$bin" man | gzip -9n >"$assets/s3napback.1.gz"
"$bin" completions bash >"$assets/completions/s3napback"
"$bin" completions zsh >"$assets/completions/_s3napback"
"$bin" completions fish >"$assets/completions/s3napback.fish"
deb=$(cargo deb --no-build | tail -n 1)
for field in Package Version Architecture Maintainer Section Priority Depends Description; do
  value=$(dpkg-deb -f "$deb" "$field")
  [ -n "$value" ] || { echo "$deb: no $field field" >&2; exit 1; }
  echo "$field: ${value%%$'\n'*}"
done
maintainer=$(dpkg-deb -f "$deb" Maintainer)
address='<[^<>@ ]+@[^<>@ ]+>$'
if ! [[ "$maintainer" =~ $address ]] || [[ "$maintainer" == *@localhost* ]]; then
  echo "$deb: Maintainer '$maintainer' is not 'Name <address>' with an address off localhost" >&2
  exit 1
fi
copyright=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/share/doc/s3napback/copyright)
grep -q "Apache License" <<<"$copyright" || { echo "$deb: copyright file without the Apache-2.0 license" >&2; exit 1; }
dpkg-deb -c "$deb"
echo "$deb"
