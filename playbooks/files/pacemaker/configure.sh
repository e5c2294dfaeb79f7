#!/bin/sh
# Loads the wanted cluster options and resources into the CIB, and says "changed" only when
# they differ (crm_diff), so that the task is idempotent.
#   configure.sh RESOURCES_XML
set -u
want=$1
i=0
until cibadmin -Q -o resources >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "the CIB did not answer within 60 s" >&2; exit 1; }
  sleep 0.1
done
# No fencing device in the lab: without stonith-enabled=false Pacemaker starts no resource.
if [ "$(crm_attribute --type crm_config --name stonith-enabled --query --quiet 2>/dev/null)" != false ]; then
  crm_attribute --type crm_config --name stonith-enabled --update false && echo changed
fi
cur=$(mktemp)
cibadmin -Q -o resources > "$cur"
if ! crm_diff --original "$cur" --new "$want" >/dev/null 2>&1; then
  cibadmin --replace -o resources --xml-file "$want" && echo changed
fi
rm -f "$cur"
