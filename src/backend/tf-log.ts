/**
 * What TensorFlow writes to standard error while its library loads, shown by TensorFlow's own log level.
 *
 * TensorFlow 2.21 logs through abseil from its libraries' static initializers, before it reads
 * TF_CPP_MIN_LOG_LEVEL and before abseil's logging is initialized, so abseil prints every such line (and a
 * notice saying so) whatever the level: on every command, `oneDNN custom operations are on …` (port.cc). rnn
 * holds standard error while tfjs-node loads (src/backend/native/stdio.ts) and passes what was written through
 * {@link tfLoadLog}: a line is shown when its severity is at least the level TensorFlow would apply
 * (TF_CPP_MIN_LOG_LEVEL: 0 all, 1 warnings and up, 2 errors and up, 3 none of abseil's), anything that is not an
 * abseil log line is shown as it is, and a warning rnn can say something about is said in rnn's words. Pure.
 */

/** abseil's line: severity letter, date, time, thread, file:line, `]`. */
const ABSL_LINE = /^([IWEF])\d{4} [\d:.]+\s+\d+ [^\]\s]+:\d+\] ?(.*)$/;
/** abseil's notice when it logs before InitializeLog (it comes with the first line). */
const ABSL_NOTICE = /^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$/;
const SEVERITY: Record<string, number> = { I: 0, W: 1, E: 2, F: 3 };

/** A warning rnn words itself, and why: the user can act on it. */
const REWORDED: Array<{ match: RegExp; say: (m: RegExpMatchArray, env: TfLogEnv) => string }> = [
  {
    // tensorflow/core/util/port.cc: TF_ENABLE_ONEDNN_OPTS holds something TensorFlow does not read.
    match: /^TF_ENABLE_ONEDNN_OPTS is not set to either '0', 'false', '1', or 'true'\. Using the default setting: (\w+)/,
    say: (m, env) =>
      `warning: TF_ENABLE_ONEDNN_OPTS=${env.onednnOpts ?? ''} is not 0, 1, true or false, so TensorFlow ignores it and keeps its own oneDNN ${/^(1|true)$/.test(m[1]!) ? 'on' : 'off'}. Set it to 0 or 1, or unset it`,
  },
];

/** What the rewording reads of the environment. */
export interface TfLogEnv {
  /** TF_ENABLE_ONEDNN_OPTS as set. */
  onednnOpts?: string;
}

/**
 * The lines to show of what was written to standard error while TensorFlow loaded, in order: abseil's records
 * (a line and the lines that continue it) at or above `minLevel`, warnings rnn rewords (whatever the level:
 * they concern the user's own settings), and everything else as it came.
 */
export function tfLoadLog(text: string, minLevel: number, env: TfLogEnv = {}): string[] {
  const out: string[] = [];
  let keep = true; // whether the record the current line continues is shown
  for (const line of text.split('\n')) {
    if (line === '' || ABSL_NOTICE.test(line)) {
      if (line !== '' && minLevel <= 0) out.push(line);
      continue;
    }
    const m = ABSL_LINE.exec(line);
    if (!m) {
      if (keep) out.push(line);
      continue;
    }
    const reworded = REWORDED.map((r) => ({ r, hit: m[2]!.match(r.match) })).find((x) => x.hit);
    if (reworded && minLevel > 0) {
      out.push(reworded.r.say(reworded.hit!, env));
      keep = false;
      continue;
    }
    keep = SEVERITY[m[1]!]! >= minLevel;
    if (keep) out.push(line);
  }
  return out;
}

/** TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it: a number from 0 to 3 (anything else: 0, TensorFlow's default). */
export function tfLogLevel(value: string | undefined): number {
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 3 ? n : 0;
}
