/**
 * The page's context, written by devorg into the page it serves (a JSON script element): the
 * session of the signed-in user, the API version, the user's id, locale and currency, and the
 * custom permissions the user holds. Read once.
 */
let cached;

export function context() {
    if (!cached) {
        const element = document.getElementById('preview-context');
        const parsed = element ? JSON.parse(element.textContent) : {};
        cached = {
            apiVersion: '66.0',
            locale: 'en-US',
            currency: 'USD',
            timeZone: 'UTC',
            permissions: [],
            ...parsed
        };
    }
    return cached;
}
