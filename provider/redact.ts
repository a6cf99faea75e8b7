/** Keeping credentials that people paste into URLs out of messages, logs and state. */

/**
 * `value` with any user info, query and fragment replaced by `***`: a URL someone pasted may carry
 * a password or a SAS signature, and messages are shown and logged.
 */
export function redactUrl(value: string): string {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^?#/]*@/i, "$1***@").replace(/([?#]).*$/s, "$1***");
}
