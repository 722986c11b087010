/**
 * Calls to the org's HTTP API with the page's session, the way Lightning Data Service reaches
 * the UI API. A failed call rejects with the shape LDS hands to components:
 * `{ status, statusText, ok: false, body }`, body being the org's JSON error.
 */
import { context } from './context';

export function apiPath(path) {
    return `/services/data/v${context().apiVersion}${path}`;
}

export async function callApi(method, path, body) {
    const response = await fetch(apiPath(path), {
        method,
        headers: {
            Authorization: `Bearer ${context().session}`,
            Accept: 'application/json',
            ...(body === undefined
                ? {}
                : { 'Content-Type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body)
    });
    const text = await response.text();
    let parsed = null;
    if (text) {
        try {
            parsed = JSON.parse(text);
        } catch {
            parsed = { message: text };
        }
    }
    if (!response.ok) {
        throw {
            status: response.status,
            statusText: response.statusText,
            ok: false,
            body: parsed
        };
    }
    return parsed;
}
