import { stringify } from 'yaml';
console.log(stringify({ a: 'yes', b: 'on', c: 'false', d: true }));
console.log(stringify({ a: 'yes', b: 'on', c: 'false', d: true }, { version: '1.1' }));
