// Module registry: a task names one of these.
import type { Module } from '../module.ts';
import apt from './apt.ts';
import bmc from './bmc.ts';
import command from './command.ts';
import copy from './copy.ts';
import fail from './fail.ts';
import file from './file.ts';
import get_url from './get_url.ts';
import kubectl_apply from './kubectl_apply.ts';
import lineinfile from './lineinfile.ts';
import modprobe from './modprobe.ts';
import service from './service.ts';
import shell from './shell.ts';
import sysctl from './sysctl.ts';
import template from './template.ts';
import wait_for from './wait_for.ts';

export const modules: Record<string, Module> = Object.fromEntries(
  [
    apt,
    bmc,
    command,
    copy,
    fail,
    file,
    get_url,
    kubectl_apply,
    lineinfile,
    modprobe,
    service,
    shell,
    sysctl,
    template,
    wait_for,
  ].map((m) => [m.name, m as unknown as Module]),
);
