/**
 * The fuzz campaign: every reader of untrusted bytes, fed mutated real files, one command.
 *
 *   npm run fuzz -- [--time SECONDS] [--cases N] [--target NAME]… [--seed N] [--out DIR] [--cli-every N] [--case N]
 *
 * Targets: csv, imdb-dir, imdb-tar, tokenizer, model-dir, checkpoint, keras (test/fuzz/targets.ts) and http
 * (test/fuzz/http.ts, against a running `rnn serve`). Each runs for --time seconds (default 60). A case is
 * drawn from the seed and its number alone, so `--target T --seed S --case N` makes and runs case N again;
 * `--cases N` stops each target after N cases (CI's fixed-seed pass: the same cases on every run).
 *
 * Cases run in-process (worker.ts: the CLI's own main(), TensorFlow loaded once — 20-100x more cases than a
 * process per case), and every --cli-every'th case (default 25), and every case that looks wrong in-process,
 * runs again as the real `bin/rnn` process, under strace when it is installed, so that the exit code, what
 * is printed, and every file the process creates, renames or opens for writing are those of the CLI itself.
 *
 * A finding is: an exit other than 0 or 1; a stack trace without --debug, or an error reported as a bug in
 * rnn (INTERNAL); an uncaught exception; a hang past 10 s; memory past 1 GB; a file written outside the
 * case's output folder (an input changed, a file left in the temporary folder, or — under strace — any path
 * opened for writing outside the output and temporary folders). Each is written to DIR/findings/ with the
 * case's inputs and the command that reproduces it. Exit code: 0 without findings, 1 with. A hang or memory
 * seen in-process only, which the CLI replay of the case does not reproduce, is the worker's (it shares its
 * time with earlier cases and the machine): counted among the outcomes, not a finding.
 */
import { spawn, spawnSync, fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fsp, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers.js';
import { buildCorpus, type Corpus } from './seeds.js';
import { FILE_TARGETS, type CaseDirs, type Command, type Target } from './targets.js';
import { Rand } from './mutate.js';
import type { CommandResult } from './worker.js';
import { fuzzHttp } from './http.js';

export const HANG_MS = 10_000;
export const MEMORY_BYTES = 2 ** 30;
export const TARGET_NAMES = [...FILE_TARGETS.map((t) => t.name), 'http'];

export interface FuzzArgs {
  time: number;
  targets: string[];
  seed: number;
  out: string;
  cliEvery: number;
  caseNo?: number;
  /** At most this many cases per target (beside --time). */
  cases?: number;
  corpus?: string;
}

export interface Finding {
  target: string;
  seed: number;
  caseNo: number;
  kind: string;
  detail: string;
  /** Where the finding was seen: in-process, the CLI replay, or both. */
  seen: string;
  dir: string;
}

/** What makes two findings the same: their kind and first line, without paths and numbers. */
export function signature(f: Pick<Finding, 'kind' | 'detail'>): string {
  const line = f.detail.split('\n').find((l) => l.trim()) ?? '';
  return `${f.kind}: ${line
    .replace(/\/[^\s:'"]+/g, 'PATH')
    .replace(/\d+/g, 'N')
    .slice(0, 160)}`;
}

export interface TargetReport {
  target: string;
  reads: string;
  cases: number;
  cliCases: number;
  seconds: number;
  findings: Finding[];
  /** Exit codes / outcomes seen, e.g. {"exit 1": 900, "exit 0": 12}. */
  outcomes: Record<string, number>;
}

export function parseArgs(argv: string[]): FuzzArgs {
  const a: FuzzArgs = { time: 60, targets: [], seed: 1, out: path.join(os.tmpdir(), 'rnn-fuzz'), cliEvery: 25 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const num = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${v} takes a number`);
      return n;
    };
    if (v === '--time') a.time = num();
    else if (v === '--target') {
      const t = argv[++i]!;
      if (!TARGET_NAMES.includes(t)) throw new Error(`--target takes one of ${TARGET_NAMES.join(', ')}, not ${t}`);
      a.targets.push(t);
    } else if (v === '--seed') a.seed = num();
    else if (v === '--out') a.out = path.resolve(argv[++i]!);
    else if (v === '--cli-every') a.cliEvery = num();
    else if (v === '--case') a.caseNo = num();
    else if (v === '--cases') a.cases = num();
    else if (v === '--corpus') a.corpus = path.resolve(argv[++i]!);
    else throw new Error(`unknown argument ${v}`);
  }
  if (a.targets.length === 0) a.targets = [...TARGET_NAMES];
  return a;
}

/** The generator of case `n` of `target` under `seed`. */
export function caseRand(seed: number, target: string, n: number): Rand {
  const h = createHash('sha256').update(`${seed}/${target}/${n}`).digest();
  return new Rand(h.readUInt32LE(0));
}

const STACK = /^\s+at .+(:\d+:\d+\)?|\(native\)|\(<anonymous>\))$/m;
const BUG = /This is a bug in rnn|"code":"INTERNAL"/;

/** What is wrong with one command's result, or undefined. */
export function judge(r: CommandResult): { kind: string; detail: string } | undefined {
  const excerpt = (s: string) => s.slice(0, 2000);
  if (r.code !== 0 && r.code !== 1) return { kind: `exit ${r.code}`, detail: excerpt(r.stderr) };
  if (BUG.test(r.stderr)) return { kind: 'bug', detail: excerpt(r.stderr) };
  if (STACK.test(r.stderr)) return { kind: 'stack trace', detail: excerpt(r.stderr) };
  return undefined;
}

/** Every file under `dir` with its size, mtime and content hash (a snapshot to compare). */
async function snapshot(dir: string, skip: string[] = []): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await fsp.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (skip.includes(p)) continue;
      const st = await fsp.lstat(p).catch(() => undefined);
      if (!st) continue;
      if (e.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else if (e.isFile() && st.size < 64 * 2 ** 20 && st.blocks * 512 >= Math.min(st.size, 4096)) {
        out.set(
          p,
          `${st.size} ${st.mtimeMs} ${createHash('sha1')
            .update(await fsp.readFile(p))
            .digest('hex')}`,
        );
      } else out.set(p, `${e.isSymbolicLink() ? 'link' : 'other'} ${st.size} ${st.mtimeMs}`);
    }
  };
  await walk(dir);
  return out;
}

function diffSnapshots(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [p, v] of after) if (before.get(p) !== v) changes.push(`${before.has(p) ? 'changed' : 'created'} ${p}`);
  for (const p of before.keys()) if (!after.has(p)) changes.push(`removed ${p}`);
  return changes;
}

/** The resident memory of `pid` and its descendants, in bytes. */
function treeRss(pid: number): number {
  let total = 0;
  const visit = (p: number): void => {
    try {
      const status = readFileSync(`/proc/${p}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      for (const c of readFileSync(`/proc/${p}/task/${p}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) visit(Number(c));
    } catch {
      // gone
    }
  };
  visit(pid);
  return total;
}

const HAS_STRACE = spawnSync('strace', ['-V']).status === 0;

/** Paths a traced process opened for writing, created, renamed, linked or removed, outside `allowed` folders. */
function writesOutside(trace: string, allowed: string[]): string[] {
  const bad = new Set<string>();
  const ok = (p: string) =>
    allowed.some((a) => p === a || p.startsWith(a + path.sep)) ||
    /^\/(dev\/(null|tty|pts|shm)|proc\/|sys\/)/.test(p) ||
    p.startsWith('pipe:');
  for (const line of trace.split('\n')) {
    const m = /^(?:\[pid\s+\d+\]\s+)?(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (!m || Number(m[3]) < 0) continue;
    const [, call, args] = m;
    const paths = [...args!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => x[1]!);
    let touched: string[] = [];
    if (/^open(at)?$|^creat$/.test(call!)) {
      if (/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(args!) || call === 'creat') touched = paths.slice(0, 1);
    } else if (
      /^(rename|renameat2?|link|linkat|symlink|symlinkat|mkdir|mkdirat|unlink|unlinkat|rmdir|truncate|chmod|fchmodat)$/.test(call!)
    ) {
      touched = paths;
    }
    for (const p of touched) if (p.startsWith('/') && !ok(p)) bad.add(`${call} ${p}`);
  }
  return [...bad];
}

/** Runs a case's commands as the real bin/rnn (under strace when installed), with the hang and memory limits. */
async function runCli(c: Command[], dirs: CaseDirs): Promise<{ results: CommandResult[]; anomaly?: { kind: string; detail: string } }> {
  const results: CommandResult[] = [];
  for (const cmd of c) {
    const trace = path.join(dirs.root, `strace-${results.length}.txt`);
    const rnn = [path.join(ROOT, 'bin', 'rnn'), ...cmd.argv];
    const [file, args] = HAS_STRACE
      ? [
          'strace',
          [
            '-f',
            '-qq',
            '--seccomp-bpf',
            '-o',
            trace,
            '-e',
            'trace=open,openat,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,mkdir,mkdirat,unlink,unlinkat,rmdir,truncate',
            process.execPath,
            ...rnn,
          ],
        ]
      : [process.execPath, rnn];
    const t0 = performance.now();
    const child = spawn(file, args as string[], {
      cwd: dirs.root,
      env: {
        ...process.env,
        ...cmd.env,
        NO_COLOR: '1',
        TMPDIR: dirs.tmp,
        RNN_MODELS_DIR: cmd.env?.RNN_MODELS_DIR ?? path.join(dirs.out, 'models'),
        RNN_DATA_DIR: path.join(dirs.out, 'data'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout.length < 65536 ? (stdout += d) : undefined));
    child.stderr!.on('data', (d: Buffer) => (stderr.length < 65536 ? (stderr += d) : undefined));
    let anomaly: { kind: string; detail: string } | undefined;
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    };
    const timer = setTimeout(
      () => {
        anomaly = { kind: 'hang', detail: `${cmd.argv.join(' ')} did not finish within ${HANG_MS / 1000} s` };
        kill();
      },
      HANG_MS + (HAS_STRACE ? 2000 : 0),
    );
    let peak = 0;
    const poll = setInterval(() => {
      peak = Math.max(peak, treeRss(child.pid!));
      if (peak > MEMORY_BYTES && !anomaly) {
        anomaly = { kind: 'memory', detail: `${cmd.argv.join(' ')} went past ${(peak / 2 ** 20).toFixed(0)} MB` };
        kill();
      }
    }, 50);
    const code = await new Promise<number>((resolve) =>
      child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? os.constants.signals[sig] : 0))),
    );
    clearTimeout(timer);
    clearInterval(poll);
    const r = { code, stdout, stderr, ms: performance.now() - t0 };
    results.push(r);
    if (!anomaly && HAS_STRACE) {
      const outside = writesOutside(await fsp.readFile(trace, 'utf8').catch(() => ''), [
        dirs.out,
        dirs.tmp,
        path.join(dirs.root, 'strace-'),
      ]);
      const relevant = outside.filter((w) => !w.includes(`${dirs.root}${path.sep}strace-`));
      if (relevant.length) anomaly = { kind: 'write outside', detail: relevant.slice(0, 20).join('\n') };
    }
    await fsp.rm(trace, { force: true });
    if (anomaly) return { results, anomaly };
    if (code !== 0) break;
  }
  return { results };
}

/** The in-process worker, restarted when it dies, hangs or grows. */
export class Worker {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private next = 0;

  async start(): Promise<void> {
    const child = fork(path.join(ROOT, 'dist', 'test', 'fuzz', 'worker.js'), [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, NO_COLOR: '1' },
    });
    child.stderr!.resume();
    this.child = child;
    this.ready = new Promise((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (c) => reject(new Error(`the fuzz worker exited ${c} before it was ready`)));
    });
    await this.ready;
  }

  stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }

  rss(): number {
    return this.child?.pid ? treeRss(this.child.pid) : 0;
  }

  /** Runs a job; an anomaly (hang, memory, crash) kills the worker, which the next job restarts. */
  async run(job: { cwd: string; tmp: string; env: Record<string, string>; commands: Command[] }): Promise<{
    results: CommandResult[];
    uncaught: string[];
    anomaly?: { kind: string; detail: string };
  }> {
    if (!this.child || this.rss() > 800 * 2 ** 20) {
      this.stop();
      await this.start();
    }
    const child = this.child!;
    const id = ++this.next;
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: { results: CommandResult[]; uncaught: string[]; anomaly?: { kind: string; detail: string } }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        clearInterval(poll);
        child.removeListener('message', onMessage);
        child.removeListener('exit', onExit);
        if (r.anomaly || r.uncaught.length) this.stop();
        resolve(r);
      };
      const onMessage = (m: { id?: number; results: CommandResult[]; uncaught: string[] }) => {
        if (m.id === id) finish({ results: m.results, uncaught: m.uncaught });
      };
      const onExit = (code: number | null, sig: string | null) =>
        finish({ results: [], uncaught: [], anomaly: { kind: `exit ${code ?? sig}`, detail: 'the in-process worker died' } });
      const timer = setTimeout(
        () => finish({ results: [], uncaught: [], anomaly: { kind: 'hang', detail: `no answer within ${HANG_MS / 1000} s` } }),
        HANG_MS,
      );
      const base = this.rss();
      const poll = setInterval(() => {
        const rss = this.rss();
        // The in-process worker holds TensorFlow and earlier cases: a case's own growth past 1 GB is the finding.
        if (rss - base > MEMORY_BYTES - 300 * 2 ** 20 || rss > MEMORY_BYTES + 500 * 2 ** 20)
          finish({ results: [], uncaught: [], anomaly: { kind: 'memory', detail: `the worker reached ${(rss / 2 ** 20).toFixed(0)} MB` } });
      }, 50);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, ...job });
    });
  }
}

async function caseDirs(root: string): Promise<CaseDirs> {
  await fsp.rm(root, { recursive: true, force: true });
  const d = { root, in: path.join(root, 'in'), out: path.join(root, 'out'), tmp: path.join(root, 'tmp') };
  for (const p of [d.in, d.out, d.tmp]) await fsp.mkdir(p, { recursive: true });
  return d;
}

function caseEnv(dirs: CaseDirs): Record<string, string> {
  return { RNN_MODELS_DIR: path.join(dirs.out, 'models'), RNN_DATA_DIR: path.join(dirs.out, 'data') };
}

/** Removes a case folder, whatever it holds (FIFOs, read-only files, links). */
async function rmCase(root: string): Promise<void> {
  await fsp.rm(root, { recursive: true, force: true }).catch(() => spawnSync('rm', ['-rf', root]));
}

async function record(
  args: FuzzArgs,
  t: string,
  n: number,
  dirs: CaseDirs,
  commands: Command[],
  f: Omit<Finding, 'dir' | 'target' | 'seed' | 'caseNo'>,
  results: unknown,
): Promise<Finding> {
  const dir = path.join(args.out, 'findings', `${t}-seed${args.seed}-case${n}`);
  await rmCase(dir);
  await fsp.mkdir(dir, { recursive: true });
  spawnSync('cp', ['-a', dirs.in, path.join(dir, 'in')]);
  const finding: Finding = { target: t, seed: args.seed, caseNo: n, ...f, dir };
  const reproduce = `npm run fuzz -- --target ${t} --seed ${args.seed} --case ${n}`;
  await fsp.writeFile(path.join(dir, 'case.json'), JSON.stringify({ ...finding, reproduce, commands, results }, null, 2) + '\n');
  return finding;
}

/** Runs one case (in-process, and on the CLI when sampled or suspicious); returns its findings and outcome. */
async function runCase(
  args: FuzzArgs,
  target: Target,
  corpus: Corpus,
  worker: Worker,
  n: number,
  forceCli: boolean,
): Promise<{ findings: Finding[]; outcome: string; cli: boolean }> {
  const dirs = await caseDirs(path.join(args.out, 'cases', target.name));
  const commands = await target.make(caseRand(args.seed, target.name, n), corpus, dirs);
  const inputs = await snapshot(dirs.in);
  const findings: Finding[] = [];
  const r = await worker.run({ cwd: dirs.root, tmp: dirs.tmp, env: caseEnv(dirs), commands });
  let problem = r.anomaly ?? (r.uncaught.length ? { kind: 'uncaught', detail: r.uncaught.join('\n').slice(0, 4000) } : undefined);
  problem ??= r.results.map(judge).find(Boolean);
  if (!problem) {
    const changed = diffSnapshots(inputs, await snapshot(dirs.in));
    const left = [...(await snapshot(dirs.tmp)).keys()];
    if (changed.length) problem = { kind: 'write outside', detail: `inputs changed: ${changed.slice(0, 10).join('; ')}` };
    else if (left.length) problem = { kind: 'write outside', detail: `left in the temporary folder: ${left.slice(0, 10).join('; ')}` };
  }
  const outcome = r.anomaly ? r.anomaly.kind : r.results.length ? `exit ${r.results.at(-1)!.code}` : 'none';
  let cli = false;
  if (problem || forceCli) {
    // Again, as the real process: a fresh case folder, the same inputs.
    cli = true;
    const again = await caseDirs(dirs.root);
    const cmds = await target.make(caseRand(args.seed, target.name, n), corpus, again);
    const before = await snapshot(again.in);
    const c = await runCli(cmds, again);
    let cliProblem = c.anomaly ?? c.results.map(judge).find(Boolean);
    if (!cliProblem) {
      const changed = diffSnapshots(before, await snapshot(again.in));
      const left = [...(await snapshot(again.tmp)).keys()];
      if (changed.length) cliProblem = { kind: 'write outside', detail: `inputs changed: ${changed.slice(0, 10).join('; ')}` };
      else if (left.length) cliProblem = { kind: 'write outside', detail: `left in the temporary folder: ${left.slice(0, 10).join('; ')}` };
    }
    // The worker shares its time and memory with earlier cases (TensorFlow loaded once, warm-up on its first
    // case) and with whatever else the machine runs: a hang or memory reading it alone saw, which the real CLI
    // does not reproduce within the same limits, is the worker's, not rnn's. It is counted, not a finding.
    if (problem && !cliProblem && (problem.kind === 'hang' || problem.kind === 'memory')) {
      return { findings, outcome: `${problem.kind} in-process only (clean on the CLI)`, cli };
    }
    if (problem || cliProblem) {
      const seen = problem && cliProblem ? 'in-process and CLI' : problem ? 'in-process only (the CLI replay was clean)' : 'CLI only';
      const p = cliProblem ?? problem!;
      findings.push(
        await record(args, target.name, n, again, cmds, { kind: p.kind, detail: p.detail, seen }, { inProcess: r, cli: c.results }),
      );
    }
  }
  return { findings, outcome, cli };
}

/**
 * Runs `target`'s cases. `shared` is a worker that earlier targets used (the campaign's: TensorFlow loads once
 * for every target, not once per target); without it the target starts its own and stops it when done.
 */
export async function fuzzTarget(
  args: FuzzArgs,
  target: Target,
  corpus: Corpus,
  log: (s: string) => void,
  shared?: Worker,
): Promise<TargetReport> {
  const worker = shared ?? new Worker();
  const report: TargetReport = { target: target.name, reads: target.reads, cases: 0, cliCases: 0, seconds: 0, findings: [], outcomes: {} };
  const t0 = performance.now();
  try {
    const only = args.caseNo;
    for (let n = only ?? 0; ; n++) {
      if (only !== undefined ? n > only : performance.now() - t0 > args.time * 1000 || n >= (args.cases ?? Infinity)) break;
      const sampled = only !== undefined || (args.cliEvery > 0 && n % args.cliEvery === args.cliEvery - 1);
      const r = await runCase(args, target, corpus, worker, n, sampled);
      report.cases++;
      if (r.cli) report.cliCases++;
      report.outcomes[r.outcome] = (report.outcomes[r.outcome] ?? 0) + 1;
      for (const f of r.findings) {
        report.findings.push(f);
        log(`  FINDING ${f.kind} (${f.seen}) in ${target.name} case ${n}: ${f.detail.split('\n')[0]!.slice(0, 200)}\n    → ${f.dir}`);
      }
    }
  } finally {
    if (!shared) worker.stop();
    await rmCase(path.join(args.out, 'cases', target.name));
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

export async function runCampaign(args: FuzzArgs, log: (s: string) => void): Promise<TargetReport[]> {
  await fsp.mkdir(args.out, { recursive: true });
  if (!HAS_STRACE) log('strace is not installed: the CLI replays check writes by snapshots of the case folder only');
  const corpus = await buildCorpus(args.corpus ?? path.join(args.out, 'corpus'), log);
  const reports: TargetReport[] = [];
  const worker = new Worker();
  try {
    for (const name of args.targets) {
      log(`${name}: ${args.caseNo !== undefined ? `case ${args.caseNo}` : `${args.time} s`}, seed ${args.seed}`);
      const report =
        name === 'http'
          ? await fuzzHttp(args, corpus, log)
          : await fuzzTarget(
              args,
              FILE_TARGETS.find((t) => t.name === name)!,
              corpus,
              log,
              worker,
            );
      log(
        `${name}: ${report.cases} cases (${report.cliCases} on the CLI) in ${report.seconds.toFixed(0)} s, ${report.findings.length} finding(s) of ${new Set(report.findings.map(signature)).size} kind(s); ` +
          Object.entries(report.outcomes)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
      );
      reports.push(report);
    }
  } finally {
    worker.stop();
  }
  await fsp.writeFile(path.join(args.out, 'summary.json'), JSON.stringify(reports, null, 2) + '\n');
  return reports;
}

/** `npm run fuzz -- …` */
async function cli(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const reports = await runCampaign(args, (s) => process.stderr.write(`${s}\n`));
  const rows = reports.map(
    (r) =>
      `| ${r.target} | ${r.cases} | ${r.cliCases} | ${r.seconds.toFixed(0)} | ${r.findings.length} | ${new Set(r.findings.map(signature)).size} |`,
  );
  process.stdout.write(
    `| target | cases | on the CLI | seconds | findings | distinct |\n| --- | ---: | ---: | ---: | ---: | ---: |\n${rows.join('\n')}\n`,
  );
  for (const s of new Set(reports.flatMap((r) => r.findings.map((f) => `${r.target}: ${signature(f)}`)))) process.stdout.write(`- ${s}\n`);
  process.stderr.write(`summary: ${path.join(args.out, 'summary.json')}\n`);
  return reports.some((r) => r.findings.length) ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'dist', 'test', 'fuzz', 'main.js')) {
  cli().then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`fuzz: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(2);
    },
  );
}
