// A strict subset of Jinja2, as Ansible users write it: `{{ expr }}` in any string,
// `{% if %}`/`{% for %}` in templates, and bare expressions in `when`, `changed_when`,
// `failed_when`. An undefined variable is an error that names it, unless guarded by
// `is defined` or `| default(…)`. Small on purpose: what playbooks need, nothing clever.
import { shq } from '../lab/quote.ts';

export class UndefinedError extends Error {
  constructor(readonly variable: string) {
    super(`undefined variable "${variable}"`);
    this.name = 'UndefinedError';
  }
}

export class TemplateError extends Error {
  constructor(
    message: string,
    readonly source: string,
  ) {
    super(`${message} in ${JSON.stringify(source.length > 80 ? `${source.slice(0, 77)}...` : source)}`);
    this.name = 'TemplateError';
  }
}

/** A missing value that remembers its name, so errors can say which variable. */
class Undefined {
  constructor(readonly name: string) {}
}

type Vars = Record<string, unknown>;

// ---- tokens ---------------------------------------------------------------------------

type Tok =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string }
  | { t: 'end' };

const OPS = [
  '==',
  '!=',
  '<=',
  '>=',
  '<',
  '>',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '|',
  '+',
  '-',
  '*',
  '/',
  '%',
  '~',
  ':',
];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1,
        s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          // Python's rules: known escapes are replaced, unknown ones keep their backslash (regexes: '\S').
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : '\\\'"'.includes(e) ? e : `\\${e}`;
          j += 2;
        } else s += src[j++];
      }
      if (j >= src.length) throw new TemplateError('unterminated string', src);
      out.push({ t: 'str', v: s });
      i = j + 1;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new TemplateError(`unexpected character "${c}"`, src);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  out.push({ t: 'end' });
  return out;
}

// ---- parser → closures ----------------------------------------------------------------

type Node = (vars: Vars) => unknown;

class Parser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
  ) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.t === 'op' && t.v === v;
  }
  private isId(v: string): boolean {
    const t = this.peek();
    return t.t === 'id' && t.v === v;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.t !== 'op' || t.v !== v) throw new TemplateError(`expected "${v}"`, this.src);
  }
  private ident(): string {
    const t = this.next();
    if (t.t !== 'id') throw new TemplateError('expected a name', this.src);
    return t.v;
  }

  parseAll(): Node {
    const n = this.expr();
    if (this.peek().t !== 'end') throw new TemplateError('unexpected text after the expression', this.src);
    return n;
  }

  expr(): Node {
    const value = this.or();
    if (this.isId('if')) {
      this.next();
      const cond = this.or();
      let other: Node = () => '';
      if (this.isId('else')) {
        this.next();
        other = this.expr();
      }
      return (v) => (truthy(cond(v)) ? value(v) : other(v));
    }
    return value;
  }

  private or(): Node {
    let l = this.and();
    while (this.isId('or')) {
      this.next();
      const a = l,
        b = this.and();
      l = (v) => {
        const x = a(v);
        return truthy(x) ? x : b(v);
      };
    }
    return l;
  }

  private and(): Node {
    let l = this.not();
    while (this.isId('and')) {
      this.next();
      const a = l,
        b = this.not();
      l = (v) => {
        const x = a(v);
        return truthy(x) ? b(v) : x;
      };
    }
    return l;
  }

  private not(): Node {
    if (this.isId('not')) {
      this.next();
      const a = this.not();
      return (v) => !truthy(a(v));
    }
    return this.compare();
  }

  private compare(): Node {
    let l = this.concat();
    for (;;) {
      const t = this.peek();
      if (t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) {
        this.next();
        const a = l,
          b = this.concat(),
          op = t.v;
        l = (v) => cmp(op, defined(a(v)), defined(b(v)));
      } else if (
        this.isId('in') ||
        (this.isId('not') && this.toks[this.i + 1]?.t === 'id' && (this.toks[this.i + 1] as { v: string }).v === 'in')
      ) {
        const neg = this.isId('not');
        if (neg) this.next();
        this.next();
        const a = l,
          b = this.concat();
        l = (v) => contains(defined(b(v)), defined(a(v))) !== neg;
      } else if (this.isId('is')) {
        this.next();
        const neg = this.isId('not');
        if (neg) this.next();
        const name = this.ident();
        const test = TESTS[name];
        if (!test)
          throw new TemplateError(`unknown test "${name}" (tests: ${Object.keys(TESTS).join(', ')})`, this.src);
        const a = l;
        l = (v) => test(a(v)) !== neg;
      } else return l;
    }
  }

  private concat(): Node {
    let l = this.additive();
    while (this.isOp('~')) {
      this.next();
      const a = l,
        b = this.additive();
      l = (v) => str(defined(a(v))) + str(defined(b(v)));
    }
    return l;
  }

  private additive(): Node {
    let l = this.mult();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.next() as { v: string }).v;
      const a = l,
        b = this.mult();
      l = (v) => {
        const x = defined(a(v)),
          y = defined(b(v));
        if (op === '+')
          return Array.isArray(x) && Array.isArray(y)
            ? [...x, ...y]
            : typeof x === 'string' || typeof y === 'string'
              ? str(x) + str(y)
              : num(x) + num(y);
        return num(x) - num(y);
      };
    }
    return l;
  }

  private mult(): Node {
    let l = this.filtered();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.next() as { v: string }).v;
      const a = l,
        b = this.filtered();
      l = (v) => {
        const x = num(defined(a(v))),
          y = num(defined(b(v)));
        return op === '*' ? x * y : op === '/' ? x / y : x % y;
      };
    }
    return l;
  }

  private filtered(): Node {
    let l = this.unary();
    while (this.isOp('|')) {
      this.next();
      const name = this.ident();
      const f = FILTERS[name];
      if (!f)
        throw new TemplateError(`unknown filter "${name}" (filters: ${Object.keys(FILTERS).join(', ')})`, this.src);
      const args = this.isOp('(') ? this.args(')') : [];
      const a = l;
      l = (v) => f(a(v), ...args.map((x) => x(v)));
    }
    return l;
  }

  private unary(): Node {
    if (this.isOp('-')) {
      this.next();
      const a = this.unary();
      return (v) => -num(defined(a(v)));
    }
    return this.postfix();
  }

  private postfix(): Node {
    const first = this.peek();
    let name = first.t === 'id' ? first.v : 'value'; // for messages: the variable path as written
    let l = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const key = this.ident();
        const a = l,
          path = (name = `${name}.${key}`);
        l = (v) => member(a(v), key, path);
      } else if (this.isOp('[')) {
        this.next();
        const k = this.expr();
        this.expectOp(']');
        const a = l,
          base = name;
        name = `${name}[…]`;
        l = (v) => {
          const key = defined(k(v)) as string | number;
          return member(a(v), key, `${base}[${JSON.stringify(key)}]`);
        };
      } else return l;
    }
  }

  private args(close: string): Node[] {
    this.next(); // the opening bracket
    const out: Node[] = [];
    while (!this.isOp(close)) {
      out.push(this.expr());
      if (!this.isOp(close)) this.expectOp(',');
    }
    this.next();
    return out;
  }

  private primary(): Node {
    const t = this.peek();
    if (t.t === 'num' || t.t === 'str') {
      this.next();
      return () => t.v;
    }
    if (t.t === 'op' && t.v === '(') {
      this.next();
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (t.t === 'op' && t.v === '[') {
      const items = this.args(']');
      return (v) => items.map((x) => defined(x(v)));
    }
    if (t.t === 'op' && t.v === '{') {
      this.next();
      const entries: [Node, Node][] = [];
      while (!this.isOp('}')) {
        const k = this.expr();
        this.expectOp(':');
        entries.push([k, this.expr()]);
        if (!this.isOp('}')) this.expectOp(',');
      }
      this.next();
      return (v) => Object.fromEntries(entries.map(([k, x]) => [str(defined(k(v))), defined(x(v))]));
    }
    if (t.t === 'id') {
      this.next();
      const lit: Record<string, unknown> = {
        true: true,
        True: true,
        false: false,
        False: false,
        none: null,
        None: null,
        null: null,
      };
      if (t.v in lit) return () => lit[t.v];
      if (this.isOp('(')) {
        const fn = FUNCTIONS[t.v];
        if (!fn)
          throw new TemplateError(
            `unknown function "${t.v}" (functions: ${Object.keys(FUNCTIONS).join(', ')})`,
            this.src,
          );
        const args = this.args(')');
        return (v) => fn(...args.map((a) => defined(a(v))));
      }
      return (v) => (Object.hasOwn(v, t.v) ? v[t.v] : new Undefined(t.v));
    }
    throw new TemplateError('expected a value', this.src);
  }
}

// ---- values ---------------------------------------------------------------------------

function defined(x: unknown): unknown {
  if (x instanceof Undefined) throw new UndefinedError(x.name);
  return x;
}

function member(obj: unknown, key: string | number, path: string): unknown {
  if (obj instanceof Undefined) return new Undefined(path);
  if (Array.isArray(obj) && typeof key === 'number')
    return (key < 0 ? obj[obj.length + key] : obj[key]) ?? new Undefined(path);
  if (obj !== null && typeof obj === 'object' && Object.hasOwn(obj, key)) return (obj as Record<string, unknown>)[key];
  return new Undefined(path);
}

export function truthy(x: unknown): boolean {
  x = defined(x);
  if (Array.isArray(x)) return x.length > 0;
  if (x && typeof x === 'object') return Object.keys(x).length > 0;
  if (typeof x === 'string') return x.length > 0 && !['false', 'no', 'off', '0'].includes(x.toLowerCase()); // YAML-ish, as Ansible's bool
  return Boolean(x);
}

function str(x: unknown): string {
  if (x === null || x === undefined) return '';
  if (typeof x === 'object') return JSON.stringify(x);
  return String(x);
}

function num(x: unknown): number {
  const n = typeof x === 'number' ? x : Number(x);
  if (Number.isNaN(n)) throw new Error(`"${str(x)}" is not a number`);
  return n;
}

function cmp(op: string, a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'string' && b.trim() !== '' && !Number.isNaN(Number(b))) b = Number(b);
  if (typeof b === 'number' && typeof a === 'string' && a.trim() !== '' && !Number.isNaN(Number(a))) a = Number(a);
  switch (op) {
    case '==':
      return JSON.stringify(a) === JSON.stringify(b);
    case '!=':
      return JSON.stringify(a) !== JSON.stringify(b);
    case '<':
      return (a as number) < (b as number);
    case '<=':
      return (a as number) <= (b as number);
    case '>':
      return (a as number) > (b as number);
    default:
      return (a as number) >= (b as number);
  }
}

function contains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string') return haystack.includes(str(needle));
  if (Array.isArray(haystack)) return haystack.some((x) => JSON.stringify(x) === JSON.stringify(needle));
  if (haystack && typeof haystack === 'object') return Object.hasOwn(haystack, str(needle));
  return false;
}

const result = (x: unknown) => (x && typeof x === 'object' ? (x as Record<string, unknown>) : {});

const TESTS: Record<string, (x: unknown) => boolean> = {
  defined: (x) => !(x instanceof Undefined),
  undefined: (x) => x instanceof Undefined,
  none: (x) => defined(x) === null,
  string: (x) => typeof defined(x) === 'string',
  number: (x) => typeof defined(x) === 'number',
  mapping: (x) => {
    const v = defined(x);
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  },
  iterable: (x) => {
    const v = defined(x);
    return Array.isArray(v) || typeof v === 'string';
  },
  changed: (x) => result(defined(x)).changed === true,
  failed: (x) => result(defined(x)).failed === true,
  succeeded: (x) => result(defined(x)).failed !== true,
  success: (x) => result(defined(x)).failed !== true,
  skipped: (x) => result(defined(x)).skipped === true,
};

const FILTERS: Record<string, (x: unknown, ...a: unknown[]) => unknown> = {
  default: (x, d = '', onFalse = false) => (x instanceof Undefined || (onFalse && !truthy(x)) ? d : x),
  d: (x, d = '') => (x instanceof Undefined ? d : x),
  mandatory: (x) => defined(x),
  int: (x) => Math.trunc(Number(defined(x))) || 0,
  float: (x) => Number(defined(x)) || 0,
  string: (x) => str(defined(x)),
  bool: (x) => truthy(x),
  lower: (x) => str(defined(x)).toLowerCase(),
  upper: (x) => str(defined(x)).toUpperCase(),
  trim: (x) => str(defined(x)).trim(),
  length: (x) => {
    const v = defined(x);
    return Array.isArray(v) || typeof v === 'string' ? v.length : Object.keys(result(v)).length;
  },
  count: (x) => FILTERS.length!(x),
  first: (x) => (defined(x) as unknown[])[0],
  last: (x) => {
    const v = defined(x) as unknown[];
    return v[v.length - 1];
  },
  join: (x, sep = '') => (defined(x) as unknown[]).map(str).join(str(sep)),
  split: (x, sep = ' ') => str(defined(x)).split(str(sep)),
  replace: (x, a, b) => str(defined(x)).split(str(a)).join(str(b)),
  unique: (x) => [...new Set(defined(x) as unknown[])],
  sort: (x) => [...(defined(x) as unknown[])].sort(),
  list: (x) => {
    const v = defined(x);
    return Array.isArray(v) ? v : typeof v === 'string' ? [...v] : Object.keys(result(v));
  },
  min: (x) => Math.min(...(defined(x) as number[])),
  max: (x) => Math.max(...(defined(x) as number[])),
  to_json: (x) => JSON.stringify(defined(x)),
  from_json: (x) => JSON.parse(str(defined(x))),
  b64encode: (x) => Buffer.from(str(defined(x))).toString('base64'),
  b64decode: (x) => Buffer.from(str(defined(x)), 'base64').toString(),
  basename: (x) => str(defined(x)).split('/').pop(),
  dirname: (x) => str(defined(x)).split('/').slice(0, -1).join('/'),
  dict2items: (x) => Object.entries(result(defined(x))).map(([key, value]) => ({ key, value })),
  items2dict: (x) => Object.fromEntries((defined(x) as { key: string; value: unknown }[]).map((e) => [e.key, e.value])),
  quote: (x) => shq(str(defined(x))),
  regex_replace: (x, re, by = '') =>
    str(defined(x)).replace(new RegExp(str(re), 'g'), str(by).replace(/\\(\d)/g, '$$$1')),
  regex_search: (x, re) => new RegExp(str(re)).exec(str(defined(x)))?.[0] ?? null,
  map: (x, attr, ...rest) => {
    if (attr === 'attribute') return (defined(x) as unknown[]).map((e) => result(e)[str(rest[0])]);
    const f = FILTERS[str(attr)];
    if (!f) throw new Error(`map: unknown filter ${str(attr)}`);
    return (defined(x) as unknown[]).map((e) => f(e, ...rest));
  },
  selectattr: (x, attr, test = 'defined', ...rest) =>
    (defined(x) as unknown[]).filter((e) => {
      const v = member(e, str(attr), str(attr));
      if (test === '==' || test === 'equalto') return JSON.stringify(v) === JSON.stringify(rest[0]);
      const t = TESTS[str(test)];
      if (!t) throw new Error(`selectattr: unknown test ${str(test)}`);
      return t(v);
    }),
};

const FUNCTIONS: Record<string, (...a: unknown[]) => unknown> = {
  range: (a, b, step = 1) => {
    const [start, end] = b === undefined ? [0, num(a)] : [num(a), num(b)];
    const out: number[] = [];
    for (let i = start; num(step) > 0 ? i < end : i > end; i += num(step)) out.push(i);
    return out;
  },
};

// ---- public API ------------------------------------------------------------------------

const exprCache = new Map<string, Node>();

function compile(src: string): Node {
  let n = exprCache.get(src);
  if (!n) {
    n = new Parser(tokenize(src), src).parseAll();
    exprCache.set(src, n);
  }
  return n;
}

/** Evaluates one bare expression (`when:`); an undefined result is an error. */
export function evaluate(src: string, vars: Vars): unknown {
  return defined(compile(src)(vars));
}

/** Evaluates a condition (`when`, `changed_when`, `failed_when`): booleans as Ansible reads them. */
export function condition(src: string | boolean, vars: Vars): boolean {
  if (typeof src === 'boolean') return src;
  return truthy(evaluate(stripBraces(src), vars));
}

/** Ansible lets `when: "{{ x }}"` pass; treat it as the bare expression. */
function stripBraces(s: string): string {
  return wholeExpression(s) ?? s;
}

/**
 * Where the `}}` closing a `{{` that ends at `from` is. As Jinja's lexer, braces, brackets and
 * parentheses must balance first and quoted strings are skipped: `{{ {'a': {'b': 1}} | to_json }}`.
 */
function closingBraces(src: string, from: number): number {
  let depth = 0;
  let quote = '';
  for (let i = from; i < src.length; i++) {
    const c = src[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (depth === 0 && c === '}' && src[i + 1] === '}') return i;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if ((c === '}' || c === ']' || c === ')') && depth > 0) depth--;
  }
  throw new TemplateError('unclosed {{ (no matching }})', src);
}

/** The expression of a string that is exactly one `{{ expr }}` (spaces around allowed), else undefined. */
function wholeExpression(src: string): string | undefined {
  const start = src.indexOf('{{');
  if (start < 0 || src.slice(0, start).trim() !== '') return undefined;
  let end: number;
  try {
    end = closingBraces(src, start + 2);
  } catch {
    return undefined;
  }
  return src.slice(end + 2).trim() === '' ? src.slice(start + 2, end) : undefined;
}

// Template text: `{{ }}` substitutions and `{% if/elif/else/endif %}`, `{% for x in xs %}…{% endfor %}`.
type Part =
  | { k: 'text'; v: string }
  | { k: 'out'; e: Node }
  | { k: 'if'; branches: [Node | null, Part[]][] }
  | { k: 'for'; name: string; list: Node; body: Part[] };

const templateCache = new Map<string, Part[]>();

function parseTemplate(src: string): Part[] {
  const open = /\{\{|\{%/g;
  const blockTag = /\{%-?\s*(.*?)\s*-?%\}(\n)?/sy;
  const root: Part[] = [];
  const stack: { parts: Part[]; open?: Part }[] = [{ parts: root }];
  let last = 0;
  for (let m = open.exec(src); m; m = open.exec(src)) {
    const top = stack[stack.length - 1]!;
    if (m.index > last) top.parts.push({ k: 'text', v: src.slice(last, m.index) });
    if (m[0] === '{{') {
      const end = closingBraces(src, m.index + 2);
      const expr = src.slice(m.index + 2, end);
      top.parts.push({ k: 'out', e: new Parser(tokenize(expr), expr).parseAll() });
      last = open.lastIndex = end + 2;
      continue;
    }
    blockTag.lastIndex = m.index;
    const b = blockTag.exec(src);
    if (!b) throw new TemplateError('unclosed {% (no matching %})', src);
    last = open.lastIndex = blockTag.lastIndex; // trim_blocks: a newline right after a block tag is dropped
    const tag = b[1]!;
    const [word] = tag.split(/\s+/);
    const rest = tag.slice(word!.length).trim();
    if (word === 'if') {
      const part: Part = { k: 'if', branches: [[compile(rest), []]] };
      top.parts.push(part);
      stack.push({ parts: part.branches[0]![1], open: part });
    } else if (word === 'elif' || word === 'else') {
      const open = top.open;
      if (open?.k !== 'if') throw new TemplateError(`{% ${word} %} outside {% if %}`, src);
      const branch: [Node | null, Part[]] = [word === 'elif' ? compile(rest) : null, []];
      open.branches.push(branch);
      stack[stack.length - 1] = { parts: branch[1], open };
    } else if (word === 'for') {
      const fm = /^([A-Za-z_]\w*)\s+in\s+(.+)$/s.exec(rest);
      if (!fm) throw new TemplateError('{% for NAME in LIST %} expected', src);
      const part: Part = { k: 'for', name: fm[1]!, list: compile(fm[2]!), body: [] };
      top.parts.push(part);
      stack.push({ parts: part.body, open: part });
    } else if (word === 'endif' || word === 'endfor') {
      if (stack.length === 1 || top.open?.k !== (word === 'endif' ? 'if' : 'for'))
        throw new TemplateError(`unexpected {% ${word} %}`, src);
      stack.pop();
    } else throw new TemplateError(`unknown tag {% ${word} %} (tags: if, elif, else, endif, for, endfor)`, src);
  }
  if (stack.length > 1) throw new TemplateError(`missing {% end${stack[stack.length - 1]!.open!.k} %}`, src);
  if (last < src.length) root.push({ k: 'text', v: src.slice(last) });
  return root;
}

function renderParts(parts: Part[], vars: Vars): string {
  let out = '';
  for (const p of parts) {
    switch (p.k) {
      case 'text':
        out += p.v;
        break;
      case 'out':
        out += str(defined(p.e(vars)));
        break;
      case 'if': {
        const b = p.branches.find(([c]) => c === null || truthy(c(vars)));
        if (b) out += renderParts(b[1], vars);
        break;
      }
      case 'for': {
        const list = defined(p.list(vars));
        const items = Array.isArray(list) ? list : list && typeof list === 'object' ? Object.keys(list) : [];
        items.forEach((item, index) => {
          out += renderParts(p.body, {
            ...vars,
            [p.name]: item,
            loop: { index: index + 1, index0: index, first: index === 0, last: index === items.length - 1 },
          });
        });
        break;
      }
    }
  }
  return out;
}

/** Renders a string. A string that is exactly one `{{ expr }}` keeps the value's type (lists stay lists). */
export function render(src: string, vars: Vars): unknown {
  if (!src.includes('{{') && !src.includes('{%')) return src;
  const whole = wholeExpression(src);
  if (whole !== undefined) return defined(compile(whole)(vars));
  let parts = templateCache.get(src);
  if (!parts) {
    parts = parseTemplate(src);
    templateCache.set(src, parts);
  }
  return renderParts(parts, vars);
}

/** Renders every string inside a value (module arguments). */
export function renderDeep(value: unknown, vars: Vars): unknown {
  if (typeof value === 'string') return render(value, vars);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, vars)]));
  return value;
}
