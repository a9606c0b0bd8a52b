/** A configuration problem an operator can fix: the message names the file, the key and the expectation. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly keyPath?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}
