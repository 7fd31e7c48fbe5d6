#!/bin/sh
# make package: static, reproducible builds of ldapply for linux/amd64 and
# linux/arm64, packed as .deb and .rpm (nfpm, pinned in go.mod as a tool)
# and .tar.gz, with SHA256SUMS, into dist/. Reproducible: -trimpath, no
# build id, and every timestamp is the commit's (SOURCE_DATE_EPOCH), so
# the same commit gives the same files.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
ARCHES=${ARCHES:-amd64 arm64}
commit=$(git rev-parse HEAD)
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)
export SOURCE_DATE_EPOCH
commit_time=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ)
# A tag v1.2.3 on the commit gives 1.2.3; otherwise a version that sorts
# before the next release and names the commit.
if tag=$(git describe --tags --exact-match 2>/dev/null); then
	version=${tag#v}
else
	version=0.1.0~git$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d).$(git rev-parse --short=12 HEAD)
fi
VERSION=${VERSION:-$version}
export VERSION SOURCE_DATE="$commit_time"

rm -rf dist
mkdir -p dist/build/host
ldflags="-s -w -buildid= -X main.version=$VERSION -X main.commit=$commit -X main.commitTime=$commit_time"
build() { # GOARCH OUT
	CGO_ENABLED=0 GOOS=linux GOARCH=$1 $GO build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$2" ./cmd/ldapply
}
# The man page and the completions come from the CLI itself, the same
# on every architecture: a binary for this machine writes them.
build "$($GO env GOHOSTARCH)" dist/build/host/ldapply
host=dist/build/host
"$host/ldapply" man | gzip -9n > "$host/ldapply.8.gz"
for sh in bash zsh fish; do "$host/ldapply" completion "$sh" > "$host/completion.$sh"; done
gzip -9n < README.md > "$host/README.md.gz"

for arch in $ARCHES; do
	b=dist/build/$arch
	mkdir -p "$b"
	build "$arch" "$b/ldapply"
	cp "$host"/ldapply.8.gz "$host"/completion.* "$host"/README.md.gz "$b/"
	rm -rf dist/build/pkg && cp -a "$b" dist/build/pkg # where nfpm.yaml looks
	for pkg in deb rpm; do
		ARCH=$arch $GO tool nfpm package --config packaging/nfpm.yaml --packager "$pkg" --target dist/ >/dev/null
	done
	# The archive: the binary and what the packages install beside it.
	t=dist/build/tar-$arch/ldapply_${VERSION}_linux_$arch
	mkdir -p "$t/completions"
	cp "$b/ldapply" "$b/ldapply.8.gz" "$b/README.md.gz" packaging/ldapply@.service packaging/ldapply@.timer packaging/example.yaml packaging/copyright "$t/"
	for sh in bash zsh fish; do cp "$b/completion.$sh" "$t/completions/ldapply.$sh"; done
	tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-C "$(dirname "$t")" -cf - "$(basename "$t")" | gzip -9n > "dist/ldapply_${VERSION}_linux_$arch.tar.gz"
done
(cd dist && sha256sum -- *.deb *.rpm *.tar.gz > SHA256SUMS)
cat dist/SHA256SUMS
