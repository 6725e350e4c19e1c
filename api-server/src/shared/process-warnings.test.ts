import { EventEmitter } from 'node:events';
import { routeProcessWarnings, type WarningFields, type WarningProcess } from './process-warnings';

/** A process with Node's printer as its bootstrap adds it (a listener named onWarning), recording what it would print. */
function fakeProcess(overrides: Partial<WarningProcess> = {}, options: { nodePrinter?: boolean } = {}) {
  const printed: string[] = [];
  const emitter = new EventEmitter();
  function onWarning(warning: Error) {
    printed.push(warning.message);
  }
  if (options.nodePrinter !== false) emitter.on('warning', onWarning);
  const proc = Object.assign(emitter, { execArgv: [] as string[], env: {} as Record<string, string | undefined> }, overrides) as EventEmitter & WarningProcess;
  return { proc, printed, onWarning };
}

function recorder() {
  const lines: { fields: WarningFields; msg: string }[] = [];
  return { lines, log: (fields: WarningFields, msg: string) => void lines.push({ fields, msg }) };
}

const warning = (message: string, name = 'Warning', extra: { code?: string; detail?: string } = {}) => Object.assign(new Error(message), { name, ...extra });

describe('routeProcessWarnings', () => {
  it('logs each warning once, with its name, code and detail, instead of Node printing it', () => {
    const { proc, printed } = fakeProcess();
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('NodeVersionSupportWarning: first line\nsecond line'));
    proc.emit('warning', warning('Buffer() is deprecated', 'DeprecationWarning', { code: 'DEP0005', detail: 'use Buffer.from' }));
    expect(printed).toEqual([]);
    expect(lines).toEqual([
      { fields: { warning: { name: 'Warning' } }, msg: 'NodeVersionSupportWarning: first line\nsecond line' },
      { fields: { warning: { name: 'DeprecationWarning', code: 'DEP0005', detail: 'use Buffer.from' } }, msg: 'Buffer() is deprecated' },
    ]);
  });

  it('logs a warning emitted again: who emits decides repeats, as for Node\'s printer', () => {
    const { proc } = fakeProcess();
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('twice'));
    proc.emit('warning', warning('twice'));
    expect(lines.map((l) => l.msg)).toEqual(['twice', 'twice']);
  });

  it('changes nothing when Node has no printer (NODE_NO_WARNINGS=1, --no-warnings)', () => {
    const { proc } = fakeProcess({}, { nodePrinter: false });
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('hidden'));
    expect(lines).toEqual([]);
    expect(proc.listeners('warning')).toEqual([]);
  });

  it.each([
    ['--redirect-warnings=FILE on the command line', { execArgv: ['--redirect-warnings=/tmp/w.txt'] }],
    ['--redirect-warnings FILE in NODE_OPTIONS', { env: { NODE_OPTIONS: '--redirect-warnings /tmp/w.txt' } }],
    ['NODE_REDIRECT_WARNINGS', { env: { NODE_REDIRECT_WARNINGS: '/tmp/w.txt' } }],
  ])('leaves warnings redirected to a file to Node: %s', (_name, overrides) => {
    const { proc, printed } = fakeProcess(overrides);
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('to the file'));
    expect({ lines, printed }).toEqual({ lines: [], printed: ['to the file'] });
  });

  it('keeps Node\'s filters: --disable-warning by code or type, --no-deprecation, no Error', () => {
    const { proc } = fakeProcess({ execArgv: ['--disable-warning=DEP0040'], env: { NODE_OPTIONS: '--require x.js --disable-warning ExperimentalWarning' }, noDeprecation: false });
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('punycode', 'DeprecationWarning', { code: 'DEP0040' }));
    proc.emit('warning', warning('VM modules', 'ExperimentalWarning'));
    proc.emit('warning', 'not an Error');
    proc.emit('warning', warning('kept', 'DeprecationWarning', { code: 'DEP0005' }));
    proc.noDeprecation = true;
    proc.emit('warning', warning('dropped', 'DeprecationWarning', { code: 'DEP0005' }));
    proc.emit('warning', warning('other kinds still', 'Warning'));
    expect(lines.map((l) => l.msg)).toEqual(['kept', 'other kinds still']);
  });

  it('adds the stack with --trace-warnings, and for deprecations with --trace-deprecation', () => {
    const { proc } = fakeProcess({ traceDeprecation: true });
    const { lines, log } = recorder();
    routeProcessWarnings(log, proc);
    proc.emit('warning', warning('plain'));
    proc.emit('warning', warning('deprecated', 'DeprecationWarning'));
    proc.traceProcessWarnings = true;
    proc.emit('warning', warning('traced'));
    expect(lines.map((l) => [l.msg, typeof l.fields.warning.stack])).toEqual([
      ['plain', 'undefined'],
      ['deprecated', 'string'],
      ['traced', 'string'],
    ]);
  });

  it('routes once when called twice, and the returned function puts Node\'s printer back', () => {
    const { proc, printed, onWarning } = fakeProcess();
    const first = recorder();
    const second = recorder();
    const restore = routeProcessWarnings(first.log, proc);
    routeProcessWarnings(second.log, proc)();
    proc.emit('warning', warning('routed'));
    restore();
    proc.emit('warning', warning('printed'));
    expect({ first: first.lines.map((l) => l.msg), second: second.lines, printed, listeners: proc.listeners('warning') }).toEqual({ first: ['routed'], second: [], printed: ['printed'], listeners: [onWarning] });
  });
});
