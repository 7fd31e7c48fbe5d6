#!/bin/sh
# Removing the package keeps the state in /var/lib/ldapply; purging it
# removes the state too.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/ldapply /var/lib/private/ldapply
fi
exit 0
