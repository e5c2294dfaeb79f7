import { stringify } from 'yaml';
import { loadLab } from '/work/main/lab/labfile.ts';
import { ciliumValues } from '/work/main/playbooks/cluster/values.ts';
const lab = loadLab('/work/main/labs/cilium.yaml');
process.stdout.write(stringify(ciliumValues(lab)));
