import test from 'ava';
import { condition, evaluate, render, UndefinedError } from '../../playbooks/expr.ts';

const vars = {
  name: 'node01',
  n: 3,
  list: ['a', 'b'],
  labels: { datacenter: 'dc1' },
  r: { rc: 0, changed: true, stdout: 'hello world' },
  groups: { workers: ['node01', 'node02'] },
  empty: '',
};

test('substitution keeps native types for a whole-string expression', (t) => {
  t.is(render('{{ name }}-x', vars), 'node01-x');
  t.deepEqual(render('{{ list }}', vars), ['a', 'b']);
  t.is(render('{{ n + 1 }}', vars), 4);
  t.is(render('{{ labels.datacenter }}/{{ labels["datacenter"] }}', vars), 'dc1/dc1');
  t.is(render('no braces', vars), 'no braces');
});

test('undefined variables are errors that name the variable, unless guarded', (t) => {
  const e = t.throws(() => render('{{ nope }}', vars), { instanceOf: UndefinedError });
  t.is(e?.variable, 'nope');
  t.is(t.throws(() => render('x {{ labels.rack }}', vars))?.message, 'undefined variable "labels.rack"');
  t.is(render('{{ nope | default("d") }}', vars), 'd');
  t.is(render('{{ labels.rack | default(7) }}', vars), 7);
  t.true(condition('nope is undefined', vars));
  t.false(condition('labels.rack is defined', vars));
  t.throws(() => condition('nope == 1', vars), { message: 'undefined variable "nope"' });
});

test('conditions: comparisons, in, and/or/not, tests, inline if', (t) => {
  t.true(condition('name == "node01" and n > 2', vars));
  t.true(condition('inventory_hostname is undefined or n >= 3', vars));
  t.true(condition("name in groups['workers']", vars));
  t.true(condition('"c" not in list', vars));
  t.true(condition('not empty', vars));
  t.true(condition('r is changed and r is succeeded and r.rc == 0', vars));
  t.true(condition('"world" in r.stdout', vars));
  t.true(condition(true, vars));
  t.is(evaluate('"yes" if n > 1 else "no"', vars), 'yes');
  t.true(condition('{{ n == 3 }}', vars), 'braces in when are accepted');
});

test('filters', (t) => {
  t.is(render('{{ list | join(",") }}', vars), 'a,b');
  t.is(render('{{ list | length }}', vars), 2);
  t.is(render('{{ "A" | lower }}{{ name | upper }}', vars), 'aNODE01');
  t.is(render('{{ "42" | int + 1 }}', vars), 43);
  t.deepEqual(render('{{ labels | dict2items }}', vars), [{ key: 'datacenter', value: 'dc1' }]);
  t.is(render('{{ "a.b.c" | replace(".", "-") }}', vars), 'a-b-c');
  t.throws(() => render('{{ name | nosuch }}', vars), { message: /unknown filter "nosuch"/ });
});

test('templates: if/elif/else and for with trim_blocks', (t) => {
  const tpl =
    '{% for h in groups.workers %}\nserver {{ h }}{{ " last" if loop.last }}\n{% endfor %}\n{% if n > 5 %}\nbig\n{% elif n > 2 ' +
    '%}\nmid\n{% else %}\nsmall\n{% endif %}\n';
  t.is(render(tpl, vars), 'server node01\nserver node02 last\nmid\n');
  t.is(
    render('a{% if n %} b{% endif %}\nc', vars),
    'a bc',
    'trim_blocks eats the newline after any block tag, as in Ansible',
  );
  t.throws(() => render('{% if n %}x', vars), { message: /missing \{% endif %\}/ });
  t.throws(() => render('{% while %}', vars), { message: /unknown tag/ });
});

test("a dict literal inside {{ }}: braces balance first, as in Jinja's lexer; strings are skipped", (t) => {
  t.is(
    render("{{ {'metadata': {'labels': labels}} | to_json }}", vars),
    '{"metadata":{"labels":{"datacenter":"dc1"}}}',
  );
  t.deepEqual(render("{{ {'a': {'b': n}} }}", vars), { a: { b: 3 } });
  t.is(render("-p {{ {'x': [n, {'y': 1}]} | to_json }} {{ name }}", vars), '-p {"x":[3,{"y":1}]} node01');
  t.is(render("{{ '}}' ~ name }}", vars), '}}node01');
  t.true(condition("{{ {'a': 1}.a == 1 }}", vars));
  t.throws(() => render('{{ name', vars), { message: /unclosed \{\{/ });
});

test("string escapes as in Python: \\n is a newline, an unknown escape keeps its backslash ('\\S' in a regex)", (t) => {
  const held = (stdout: string) =>
    condition('hold.stdout | regex_search("(^|\\n)\\S+ set on hold")', { hold: { stdout } });
  // apt-mark hold's two outputs (the cluster playbook's changed_when)
  t.true(held('kubelet set on hold.\nkubeadm was already set on hold.'));
  t.false(held('kubelet was already set on hold.\nkubeadm was already set on hold.'));
  t.is(render("{{ 'a\\tb\\\\c\\'d' }}", vars), "a\tb\\c'd");
});
