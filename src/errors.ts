/**
 * Named errors of simpair's core. Each one says what went wrong, the value received and
 * how to fix it; the CLI maps them to exit code 1 and the HTTP faces to 4xx answers.
 */

/** Base class: every error the user can fix by changing input or options. */
export class SimpairError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SimpairError';
  }
}

/** Flags that do not go together or are missing: the CLI exits 2, as for flags commander rejects. */
export class UsageError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }
}

/** A dataset row or file that cannot be used (file, line, field and reason in the message). */
export class DatasetError extends SimpairError {
  constructor(
    message: string,
    readonly issues: readonly DatasetIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatasetError';
  }
}

/** One problem found in a dataset: where it is and why it is a problem. */
export interface DatasetIssue {
  readonly file: string;
  /** 1-based physical line number in the file. */
  readonly line: number;
  readonly field?: string;
  readonly reason: string;
}

/** Labels that do not match the embeddings (count, or a value that is not 0/1). */
export class LabelError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LabelError';
  }
}

/** Shapes that disagree: embeddings vs. model input, model vs. embedder. */
export class ShapeMismatchError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShapeMismatchError';
  }
}

/** A model source (hub id, local directory, S3 prefix) that cannot be resolved or verified. */
export class ModelSourceError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelSourceError';
  }
}

/** A saved classifier that does not fit the embedder it is loaded with. */
export class ModelMismatchError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelMismatchError';
  }
}

/**
 * A loaded model answered what no probability can be (NaN, outside [0, 1], the wrong number of
 * rows): the server's fault, not the caller's, so a 500 that says so.
 */
export class ModelOutputError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelOutputError';
  }
}

/** A saved model whose files are missing, truncated or corrupt (the file is named in the message). */
export class DamagedModelError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DamagedModelError';
  }
}

/** A request (HTTP body, CLI option) that fails validation. */
export class RequestError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RequestError';
  }
}

/** A stored object that is absent. */
export class NotFoundError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/**
 * A conditional write lost: the object was created (`ifNoneMatch: '*'`) or changed
 * (`ifMatch`) by another writer in the meantime. Callers re-read and decide again; it is not
 * the user's mistake, so it is not a {@link SimpairError}.
 */
export class PreconditionFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PreconditionFailedError';
  }
}

/** A store entry that is not a regular file inside the store (FIFO, device, directory, symlink leaving the root). */
export class UnsafeObjectError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnsafeObjectError';
  }
}

/** The dataset object of a run was replaced after the run read it; the run stops (the new content gets its own run). */
export class DatasetChangedError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetChangedError';
  }
}

/** A model that cannot be exported to ONNX as asked (architecture, source files, options). */
export class ExportError extends SimpairError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExportError';
  }
}
