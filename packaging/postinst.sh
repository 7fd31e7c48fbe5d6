#!/bin/sh
# The ldapply system user runs the units; it owns the state in
# /var/lib/ldapply (systemd's StateDirectory) and reads /etc/ldapply.
set -e
if ! getent passwd ldapply >/dev/null; then
	if command -v adduser >/dev/null 2>&1 && [ -e /etc/debian_version ]; then
		adduser --system --group --home /var/lib/ldapply --no-create-home --quiet ldapply
	else
		groupadd --system ldapply 2>/dev/null || true
		useradd --system --gid ldapply --home-dir /var/lib/ldapply --no-create-home --shell /usr/sbin/nologin ldapply
	fi
fi
chgrp ldapply /etc/ldapply /etc/ldapply/example.yaml
# systemd's StateDirectory makes it too; made here, ldapply run by hand
# as the ldapply user finds it.
install -d -o ldapply -g ldapply -m 0750 /var/lib/ldapply
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
exit 0
