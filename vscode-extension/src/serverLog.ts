/**
 * Sorting the server's stderr into log levels. pygls and Python's logging write one record
 * per line, prefixed with the level; VS Code would show every stderr line as an error. Here a
 * record keeps its own level (so INFO chatter stays below the channel's default level and does
 * not flood it) and other continuation lines keep the level of the record they follow. A
 * traceback is folded: its frames go to the trace level, and only the exception line keeps the
 * record's level, so an error reads as two lines unless the user asks for traces.
 *
 * Must not import: vscode.
 */

export type StderrLevel = "trace" | "debug" | "info" | "warn" | "error";

const LEVEL_WORDS: [RegExp, StderrLevel][] = [
  [/\b(CRITICAL|FATAL|ERROR)\b/, "error"],
  [/\bWARN(ING)?\b/, "warn"],
  [/\bINFO\b/, "info"],
  [/\bDEBUG\b/, "debug"],
];

const TRACEBACK_START = /^Traceback \(most recent call last\)/;
/** The lines that join chained tracebacks. */
const TRACEBACK_LINK = /^(During handling of the above exception|The above exception was the direct cause)/;

/** How far into a line a level word may stand to count as the record's level. */
const LEVEL_PREFIX_LENGTH = 48;

export interface StderrLine {
  level: StderrLevel;
  text: string;
}

/** Splits stderr chunks into lines and gives each its level; keeps a tail for error messages. */
export class StderrSorter {
  private partial = "";
  private current: StderrLevel = "info";
  private inTraceback = false;
  private readonly tail: string[] = [];

  constructor(private readonly tailLength = 20) {}

  push(chunk: string): StderrLine[] {
    const text = this.partial + chunk;
    const lines = text.split(/\r?\n/);
    this.partial = lines.pop() ?? "";
    return lines.filter((line) => line.trim() !== "").map((line) => this.sort(line));
  }

  /** Whatever is left without a final newline (at exit). */
  flush(): StderrLine[] {
    const rest = this.partial;
    this.partial = "";
    return rest.trim() === "" ? [] : [this.sort(rest)];
  }

  /** The last lines seen, most recent last. */
  lastLines(): string[] {
    return [...this.tail];
  }

  private sort(line: string): StderrLine {
    this.tail.push(line);
    if (this.tail.length > this.tailLength) {
      this.tail.shift();
    }
    const head = line.slice(0, LEVEL_PREFIX_LENGTH);
    const found = LEVEL_WORDS.find(([pattern]) => pattern.test(head));
    if (found) {
      this.current = found[1];
      this.inTraceback = false;
      return { level: this.current, text: line };
    }
    if (TRACEBACK_START.test(line)) {
      if (!this.inTraceback && this.current !== "error" && this.current !== "warn") {
        this.current = "error"; // a traceback with no record before it: an uncaught exception
      }
      this.inTraceback = true;
      return { level: "trace", text: line };
    }
    if (this.inTraceback) {
      if (/^\s/.test(line) || TRACEBACK_LINK.test(line)) {
        return { level: "trace", text: line };
      }
      this.inTraceback = false; // the exception itself: what went wrong, at the record's level
    }
    return { level: this.current, text: line };
  }
}

/** The most telling line of a failed start: the last error-looking line, else the last line. */
export function failureLine(lines: string[]): string | undefined {
  const telling = [...lines].reverse().find((l) => /(Error|error:|No module named|not found|denied)/.test(l));
  return telling ?? lines[lines.length - 1];
}
