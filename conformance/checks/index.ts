// The checks, in the order they run: later ones read the failover trials and all captures.
import type { Check } from '../check.ts';
import announcementPattern from './announcement-pattern.ts';
import domainIsolation from './domain-isolation.ts';
import eligibleResponder from './eligible-responder.ts';
import failover from './failover.ts';
import gratuitous from './gratuitous.ts';
import http from './http.ts';
import lateInterface from './late-interface.ts';
import leaseHolder from './lease-holder.ts';
import localTraffic from './local-traffic.ts';
import managementSilent from './management-silent.ts';
import multicastSnooping from './multicast-snooping.ts';
import noSplitBrain from './no-split-brain.ts';
import nodeClient from './node-client.ts';
import poolAddress from './pool-address.ts';
import quietSwitch from './quiet-switch.ts';
import scale from './scale.ts';
import scaleCurve from './scale-curve.ts';
import sharedIp from './shared-ip.ts';
import singleResponder from './single-responder.ts';
import staleCache from './stale-cache.ts';
import storeOutage from './store-outage.ts';
import switchOutage from './switch-outage.ts';
import unnumberedNic from './unnumbered-nic.ts';

export const checks: Check[] = [
  poolAddress,
  singleResponder,
  managementSilent,
  http,
  failover,
  gratuitous,
  announcementPattern,
  staleCache,
  nodeClient,
  switchOutage,
  localTraffic,
  noSplitBrain,
  eligibleResponder,
  leaseHolder,
  sharedIp,
  domainIsolation,
  lateInterface,
  unnumberedNic,
  multicastSnooping,
  quietSwitch,
  scale,
  scaleCurve,
  storeOutage,
];
