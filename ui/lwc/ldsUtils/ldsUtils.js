/**
 * Reduces one or more errors from Lightning Data Service (UI API reads and writes), the
 * GraphQL wire adapter, empApi or plain JavaScript into a flat array of messages.
 * @param {*|*[]} errors
 * @return {String[]} error messages, empty strings removed
 */
export function reduceErrors(errors) {
    const list = Array.isArray(errors) ? errors : [errors];
    return list
        .filter((error) => !!error)
        .map(messagesOf)
        .reduce((all, messages) => all.concat(messages), [])
        .filter((message) => typeof message === 'string' && message.length > 0);
}

function messagesOf(error) {
    if (typeof error === 'string') {
        return [error];
    }
    const body = error.body;
    // UI API read errors: body is an array of { errorCode, message }
    if (Array.isArray(body)) {
        return body.map((entry) => entry && entry.message);
    }
    if (body) {
        // UI API DML errors carry the specific reasons in body.output
        const output = body.output;
        if (output) {
            const specific = [
                ...(output.errors || []).map((entry) => entry.message),
                ...Object.values(output.fieldErrors || {})
                    .reduce((all, entries) => all.concat(entries), [])
                    .map((entry) => entry.message)
            ].filter((message) => !!message);
            if (specific.length > 0) {
                return specific;
            }
        }
        if (typeof body.message === 'string') {
            return [body.message];
        }
    }
    // GraphQL errors, empApi errors and JavaScript errors
    if (typeof error.message === 'string') {
        return [error.message];
    }
    if (typeof error.error === 'string') {
        return [error.error];
    }
    return [error.statusText];
}

const ACCESS_ERROR_CODES = [
    'INSUFFICIENT_ACCESS',
    'INSUFFICIENT_ACCESS_OR_READONLY',
    'ENTITY_IS_DELETED',
    'NOT_FOUND',
    'INVALID_TYPE'
];

/**
 * True when an LDS error means the user cannot see the record (or it no longer exists), as
 * opposed to a failure worth reporting: components show a calm "no access" note instead.
 */
export function isAccessError(error) {
    if (!error) {
        return false;
    }
    if (error.status === 403 || error.status === 404) {
        return true;
    }
    const body = Array.isArray(error.body) ? error.body : [error.body];
    return body.some(
        (entry) => entry && ACCESS_ERROR_CODES.includes(entry.errorCode)
    );
}
