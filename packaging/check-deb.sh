#!/bin/sh
# CI (as root): installs the .deb built by make package for this machine,
# checks what it installed, and removes it again. Needs lintian, man-db
# and systemd (systemd-analyze).
set -eu
cd "$(dirname "$0")/.."
fail() { echo "check-deb: $*" >&2; exit 1; }
deb=$(ls dist/ldapply_*_"$(dpkg --print-architecture)".deb)

lintian --fail-on error --tag-display-limit 0 dist/*.deb
dpkg -i "$deb"
ldapply version
ldapply version | grep -q '^commit [0-9a-f]\{40\} ' || fail "ldapply version names no commit"

[ "$(stat -c %a:%G /etc/ldapply/example.yaml)" = 640:ldapply ] || fail "/etc/ldapply/example.yaml is not 0640, group ldapply"

# README's install steps, then a run as the unit's user: the configuration
# is readable and valid once its credentials exist, and a plan fails only
# because the example directory server does not exist.
install -m 0640 -g ldapply /etc/ldapply/example.yaml /etc/ldapply/prod.yaml
install -d -m 0700 /etc/ldapply/credentials/prod
echo example > /etc/ldapply/credentials/prod/ldap_password
echo example > /etc/ldapply/credentials/prod/target_password
chmod 0600 /etc/ldapply/credentials/prod/*
systemd-analyze verify ldapply@prod.service ldapply@prod.timer
# What LoadCredential= does: a copy the unit's user can read.
creds=$(mktemp -d)
trap 'rm -rf "$creds" /etc/ldapply/prod.yaml /etc/ldapply/credentials' EXIT
cp /etc/ldapply/credentials/prod/* "$creds/"
chown -R ldapply:ldapply "$creds"
as_ldapply() { runuser -u ldapply -- env CREDENTIALS_DIRECTORY="$creds" "$@"; }
as_ldapply ldapply validate --config /etc/ldapply/prod.yaml || fail "the ldapply user cannot validate /etc/ldapply/prod.yaml made as README says"
if out=$(cd /var/lib/ldapply && as_ldapply ldapply plan --config /etc/ldapply/prod.yaml 2>&1); then
	fail "a plan against the example directory server succeeded: $out"
fi
echo "$out"
echo "$out" | grep -q 'ldap.example.com' || fail "the plan's error does not name the directory server"
rm -rf /etc/ldapply/prod.yaml /etc/ldapply/credentials

# The man page renders (a Docker image may exclude /usr/share/man).
[ -e /usr/share/man/man8/ldapply.8.gz ] || fail "/usr/share/man/man8/ldapply.8.gz was not installed: does /etc/dpkg/dpkg.cfg.d exclude man pages?"
MANWIDTH=80 man ldapply 2>&1 | grep -q 'ldapply' || fail "man ldapply renders nothing"

# Removing keeps the state; purging removes it.
touch /var/lib/ldapply/ci.state
dpkg -r ldapply
[ -e /var/lib/ldapply/ci.state ] || fail "dpkg -r removed the state in /var/lib/ldapply"
[ ! -e /usr/bin/ldapply ] || fail "dpkg -r left /usr/bin/ldapply"
dpkg -P ldapply
[ ! -e /var/lib/ldapply ] || fail "dpkg -P left /var/lib/ldapply"
echo "check-deb: the .deb installs, runs, verifies and removes cleanly"
