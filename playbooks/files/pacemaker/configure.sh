#!/bin/sh
# Loads the wanted cluster options and resources into the CIB, and says "changed" only when
# they differ (crm_diff), so that the task is idempotent.
#   configure.sh RESOURCES_XML TOPOLOGY_XML STONITH_ENABLED(true|false)
set -u
want=$1
levels=$2
stonith=$3
i=0
until cibadmin -Q -o resources >/dev/null 2>&1; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "the CIB did not answer within 60 s" >&2; exit 1; }
  sleep 0.1
done
# Without a fence device, stonith-enabled=false: otherwise Pacemaker starts no resource. With the
# devices, true (Pacemaker's default). The option is set before the devices go and after they come,
# so that at no moment fencing is on without a device to do it.
option() {
  if [ "$(crm_attribute --type crm_config --name stonith-enabled --query --quiet 2>/dev/null)" != "$stonith" ]; then
    crm_attribute --type crm_config --name stonith-enabled --update "$stonith" && echo changed
  fi
}
section() { # SECTION FILE: replaced when it differs; made when missing and not empty
  cur=$(mktemp)
  if cibadmin -Q -o "$1" > "$cur" 2>/dev/null; then
    if ! crm_diff --original "$cur" --new "$2" >/dev/null 2>&1; then
      cibadmin --replace -o "$1" --xml-file "$2" && echo changed
    fi
  elif grep -q "<[a-z-]*-level " "$2"; then
    cibadmin --create -o configuration --xml-file "$2" && echo changed
  fi
  rm -f "$cur"
}
# Levels name devices: they come after the devices and go before them.
if [ "$stonith" = true ]; then
  section resources "$want"; section fencing-topology "$levels"; option
else
  option; section fencing-topology "$levels"; section resources "$want"
fi
