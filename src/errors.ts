/**
 * Every error a user can cause has a stable code: tests and scripts match the code, people read the sentence.
 * {@link ERROR_CODES} is the one list of them (docs/errors.md lists the same, and a test keeps the two equal).
 */

/** The stable codes of rnn's errors, each with what it means. */
export const ERROR_CODES = {
  // The command line (commander's usage errors and rnn's own checks of its options).
  OPTION_INVALID: "an option's value is invalid (not a number in range, not one of the choices, a reserved name)",
  OPTION_UNKNOWN: 'an option the command does not have',
  OPTION_MISSING_VALUE: 'an option that takes a value was given without one',
  OPTION_REQUIRED: 'a required option (or one of a required pair) was not given',
  OPTION_CONFLICT: 'options (or arguments) were given together that exclude each other',
  OPTION_NOT_APPLICABLE: 'an option does not apply to this data or this mode (e.g. a CSV-only option with aclImdb)',
  COMMAND_UNKNOWN: 'no command of that name',
  COMMAND_ARGUMENT_MISSING: 'a required argument of the command was not given',
  COMMAND_TOO_MANY_ARGUMENTS: 'the command got more arguments than it takes',
  COMMAND_USAGE: 'any other usage error reported by the command-line parser',

  // Datasets (--data, RNN_IMDB_URL, predict's --file).
  DATA_NOT_FOUND: 'the file or directory of reviews does not exist',
  DATA_UNREADABLE: 'the file of reviews exists but cannot be read',
  DATA_FORMAT_UNKNOWN: 'the path is neither an aclImdb directory, a .tar.gz, an http(s) URL nor a .csv file',
  DATA_ARCHIVE_INVALID: 'the tarball is not a readable aclImdb archive',
  DATA_ARCHIVE_UNSAFE: 'the tarball has an entry that would be written outside its directory; nothing was extracted',
  DATA_IMDB_INCOMPLETE: 'the aclImdb source lacks a split or has the wrong number of reviews',
  DATA_REVIEW_TOO_LARGE: 'a review file of an aclImdb directory or tarball is larger than rnn reads (16 MiB)',
  DATA_NOT_UTF8: 'the file is not UTF-8 text',
  DATA_CSV_INVALID: 'the file is not valid CSV',
  DATA_CSV_COLUMN_MISSING: 'the CSV has no column of that name (or none of the usual text or label names)',
  DATA_CSV_LABEL_INVALID: "a CSV row's label is empty, or is not one of the labels --labels names",
  DATA_LABEL_NOT_LISTED: "an aclImdb review's polarity or rating is not one of the labels (--labels, or 1-4 and 7-10)",
  DATA_LABEL_TOO_FEW: 'a label has too few reviews for the stratified splits (three or more labels)',
  DATA_CSV_SPLIT_INVALID: "a CSV row's split column is neither train nor test",
  DATA_EMPTY: 'the file holds no labeled reviews',
  DATA_NO_TEST_REVIEWS: 'the data has no test reviews to score',
  DATA_TOO_FEW_REVIEWS: 'the training data has fewer than two reviews',
  DATA_ONE_LABEL: 'the training data has only positive or only negative reviews',
  DATA_DOWNLOAD_FAILED: 'the dataset could not be downloaded (network error or HTTP error status)',
  DATA_DOWNLOAD_INCOMPLETE: 'the download broke off or ended short; the partial file was discarded',
  DATA_DOWNLOAD_MISMATCH: 'the downloaded file differs from the official one in size or SHA-256; it was discarded',

  // Reviews to label (rnn predict).
  PREDICT_NO_INPUT: 'no review texts, no --file and no piped stdin',
  PREDICT_INPUT_EMPTY: 'the --file or stdin input held no non-empty line',
  PREDICT_TEXT_EMPTY: 'a review given as an argument is empty',

  // Model directories (--model, models/latest).
  MODEL_NOT_FOUND: 'the model directory does not exist (or models/latest is missing: nothing trained yet)',
  MODEL_FILE_MISSING: 'a file of the model directory is missing or unreadable',
  MODEL_FILE_INVALID: 'a JSON file of the model directory is not valid JSON',
  MODEL_JSON_INVALID: 'model.json is not a tfjs layers model rnn can load',
  MODEL_METADATA_INVALID: 'metadata.json is not an rnn metadata file of the version this rnn reads',
  MODEL_EVAL_INVALID: "the model's eval.json is not a record rnn eval wrote",
  MODEL_FORMAT_UNSUPPORTED: 'the model was saved by an rnn whose metadata.json format this rnn does not read',
  MODEL_METADATA_MISMATCH: "the model's files disagree with its metadata.json (input length, weights)",
  MODEL_WEIGHTS_SIZE: 'the weight files are not the size model.json expects',
  MODEL_WEIGHTS_NOT_FINITE: 'the weights contain NaN or infinite values',
  MODEL_TOKENIZER_INVALID: 'a tokenizer JSON is not a Keras Tokenizer rnn reads',
  MODEL_TOKENIZER_MISMATCH: 'the tokenizer is not the one the model was trained with (hash or vocabulary size differs)',
  MODEL_IS_LANGUAGE_MODEL: 'the directory is a language model (rnn pretrain), where a sentiment classifier is needed',

  // Language models (rnn pretrain, rnn train --init).
  INIT_NOT_LANGUAGE_MODEL: '--init names a directory that is not a language model rnn pretrain saved',
  INIT_MISMATCH: "the language model's cell, sizes or vocabulary differ from the classifier's options",
  UNLABELED_ALL_LABELED: "every text of --unlabeled is among the run's labeled reviews: none is left to pseudo-label",

  // Training and its checkpoints.
  CHECKPOINT_NOT_FOUND: 'the --resume directory is not a training checkpoint',
  CHECKPOINT_INVALID: "the checkpoint's files are damaged or of another format version",
  CHECKPOINT_DATA_MISMATCH: 'the data is not what the checkpoint was trained on',

  // Evaluation.
  EVAL_HELDOUT_CHANGED: 'the rows the model held out for testing cannot be drawn again from its data',
  EVAL_ON_TRAINING_DATA: 'the data is what the model was trained on, with no rows held out',
  EVAL_LABELS_MISMATCH: 'the data has other labels than the model predicts',
  EVAL_DATA_MISSING: 'the CSV the model was trained on is gone, and eval was given no --data',
  EVAL_ON_PRETRAINING_TEXT: "the test reviews are among the texts the model's language model was pretrained on (--allow-test-text)",

  // Writing files (model directories, checkpoints, exports).
  IO_NO_SPACE: 'a file could not be written: no space left on its file system (or over quota); what was there is unchanged',
  IO_READ_ONLY: 'a file could not be written: its file system is read-only; what was there is unchanged',

  // Exports.
  EXPORT_DIR_NOT_EMPTY: 'the --web directory exists and holds something other than an rnn web export',

  // Keras 3 archives (rnn export --keras, rnn import).
  KERAS_NOT_FOUND: 'the .keras file does not exist',
  KERAS_ARCHIVE: 'the file is not a readable, bounded .keras zip archive',
  KERAS_UNSUPPORTED: 'the model is not one the Keras bridge covers (Embedding, one recurrent layer, pooling, Dense)',
  KERAS_WEIGHTS: 'model.weights.h5 lacks a weight, has the wrong shape or type, or non-finite values',
  KERAS_MAXLEN_MISMATCH: '--maxlen differs from the input length the Keras model takes',
  KERAS_TOKENIZER_MISSING: 'no tokenizer JSON beside the .keras file, and no --tokenizer',
  KERAS_LABELS_MISSING: 'a Dense(k, softmax) model with no --labels and no labels file beside the .keras file',
  KERAS_LABELS_MISMATCH: "--labels or the labels file name more or fewer labels than the model's classes",
  KERAS_LABELS_INVALID: 'the labels file beside the .keras file is not {"names": [...], "numeric": ...} JSON',

  // rnn serve: starting it.
  SERVE_WEB_INVALID: 'the --web directory is not an rnn web export',
  SERVE_PORT_IN_USE: 'the address and port are already in use',
  SERVE_PORT_DENIED: 'no permission to listen on the port',
  SERVE_HOST_INVALID: '--host is not an address of this machine',
  // rnn serve: HTTP answers.
  SERVE_UNAUTHORIZED: 'missing or wrong bearer token (401)',
  SERVE_REQUEST_INVALID: 'the request body does not match the schema: missing texts, wrong types, too many or too long texts (400)',
  SERVE_BODY_NOT_JSON: 'the request body is not valid JSON (400)',
  SERVE_BODY_NOT_UTF8: 'the request body is not valid UTF-8 (400)',
  SERVE_BODY_EMPTY: 'the request body is empty (400)',
  SERVE_CONTENT_LENGTH: 'the Content-Length header does not match the body (400)',
  SERVE_BAD_REQUEST: 'any other malformed request (4xx)',
  SERVE_CONTENT_TYPE: 'the content type is not application/json (415)',
  SERVE_BODY_TOO_LARGE: 'the request body is larger than --body-limit (413)',
  SERVE_TOO_MANY_ROWS: 'the request needs more forward rows than the queue holds (413)',
  SERVE_NOT_FOUND: 'no such path (404)',
  SERVE_METHOD_NOT_ALLOWED: 'the path does not take that method (405)',
  SERVE_QUEUE_FULL: 'the queue is full (503, Retry-After)',
  SERVE_OVERLOADED: 'the request would take longer than half of --timeout: refused at once (503, Retry-After)',
  SERVE_TIMEOUT: 'the prediction did not finish within --timeout (503, Retry-After)',
  SERVE_NOT_READY: 'no model is loaded yet (503, Retry-After)',
  SERVE_SHUTTING_DOWN: 'the server is shutting down (503, Retry-After)',

  // The native backend and rnn's oneDNN kernels (rnn setup-native, --backend, --kernels, doctor).
  NATIVE_UNAVAILABLE: 'the native TensorFlow backend is required but does not load',
  NATIVE_GPU_UNAVAILABLE: 'the GPU backend (--gpu) does not load',
  NATIVE_ONEDNN_UNAVAILABLE: "--kernels onednn was asked for and rnn's oneDNN kernels are not available",
  NATIVE_SETUP_FAILED: 'native setup failed for a reason not listed here',
  NATIVE_BINDING_BROKEN: 'the tfjs-node binding was built but does not load',
  NATIVE_INSTALL_FAILED: 'npm could not put @tensorflow/tfjs-node into node_modules',
  NATIVE_BUILD_FAILED: 'compiling the tfjs-node binding failed',
  NATIVE_PLATFORM_UNSUPPORTED: 'no libtensorflow is known for this platform',
  NATIVE_PIP_MISSING: 'no working pip to fetch the tensorflow-cpu wheel',
  NATIVE_DOWNLOAD_FAILED: 'pip could not download the tensorflow-cpu wheel',
  NATIVE_LIBTENSORFLOW_NOT_FOUND: 'RNN_LIBTENSORFLOW names a path that does not exist',
  NATIVE_LIBTENSORFLOW_INVALID: 'the libtensorflow directory, tarball or wheel is incomplete or unreadable',

  // rnn bench.
  BENCH_KERAS_FAILED: 'the Keras reference script failed',
  BENCH_SERVE_FAILED: 'the rnn serve under benchmark did not start',
  BENCH_RUN_FAILED: 'a training run of the neighbour benchmark failed',

  // Not the user's doing.
  INTERNAL: 'a bug in rnn: rerun with --debug and report the output',
} as const;

/** A stable error code (a key of {@link ERROR_CODES}). */
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error as `--json` commands print it (inside `{"error": …}`) on stderr. */
export interface ErrorJson {
  code: ErrorCode;
  message: string;
  fix: string;
}

/**
 * An error the user can fix. The CLI prints it as `error: <what failed>. <how to fix>` on stderr and exits 1,
 * without a stack trace unless `--debug` is given; `--json` commands print {@link UserError.toJSON} instead.
 */
export class UserError extends Error {
  /** What the user can do about it, one sentence. */
  readonly fix: string;

  constructor(
    /** The stable code of this kind of failure, for tests and scripts to match instead of the sentence. */
    readonly code: ErrorCode,
    what: string,
    fix: string,
    options?: { cause?: unknown },
  ) {
    super(what, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.fix = fix;
  }

  /** What failed, without a trailing full stop. */
  get what(): string {
    return whatOf(this.message);
  }

  /** The one-line rendering used on stderr (without the `error: ` prefix). */
  get line(): string {
    return errorLine(this.message, this.fix);
  }

  toJSON(): ErrorJson {
    return { code: this.code, message: this.what, fix: this.fix };
  }
}

/** What failed, without a trailing full stop. */
function whatOf(message: string): string {
  return message.trim().replace(/\.+$/, '');
}

/** An error's one line, `<what failed>. <how to fix>`: a {@link UserError}'s, and any answer built without one. */
export function errorLine(what: string, fix: string): string {
  return `${whatOf(what)}. ${fix}`;
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * The user stopped a command (Ctrl-C / SIGTERM) and it ended cleanly, e.g. with a checkpoint saved. The CLI
 * prints `interrupted: <message>` on stderr and exits 130, the shell's code for SIGINT.
 */
export class Interrupted extends Error {
  readonly exitCode = 130;

  constructor(message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}

/** End the process with this code and print nothing more (e.g. a worker's exit code, already reported). */
export class ExitWith extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
  }
}
