/**
 * lightning/navigation for the preview: NavigationMixin (Navigate, GenerateUrl) over the page
 * references the components use, and the CurrentPageReference wire adapter. Record pages and
 * named pages (tabs) become the preview's own /lightning/... URLs; a web page opens as given.
 */
const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

/** The preview URL of a page reference; undefined for a type the preview does not serve. */
export function urlFor(pageReference) {
    const { type, attributes = {} } = pageReference || {};
    switch (type) {
        case 'standard__recordPage':
            return `/lightning/r/${encodeURIComponent(attributes.objectApiName || 'sObject')}/${encodeURIComponent(
                attributes.recordId
            )}/${encodeURIComponent(attributes.actionName || 'view')}`;
        case 'standard__objectPage':
            return `/lightning/o/${encodeURIComponent(attributes.objectApiName)}/${encodeURIComponent(
                attributes.actionName || 'home'
            )}`;
        case 'standard__navItemPage':
            return `/lightning/n/${encodeURIComponent(attributes.apiName)}`;
        case 'standard__webPage':
            return attributes.url;
        default:
            return undefined;
    }
}

function navigate(pageReference, replace) {
    const url = urlFor(pageReference);
    if (!url) {
        return;
    }
    if (pageReference.type === 'standard__webPage') {
        window.open(url, '_blank', 'noopener');
    } else if (replace) {
        window.location.replace(url);
    } else {
        window.location.assign(url);
    }
}

export function NavigationMixin(Base) {
    return class extends Base {
        [Navigate](pageReference, replace) {
            navigate(pageReference, replace);
        }

        [GenerateUrl](pageReference) {
            return Promise.resolve(urlFor(pageReference));
        }
    };
}
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

/** The page reference of the page being shown, from its URL. */
export function currentPageReference() {
    const parts = window.location.pathname
        .split('/')
        .filter(Boolean)
        .map(decodeURIComponent);
    const state = Object.fromEntries(
        new URLSearchParams(window.location.search)
    );
    if (parts[1] === 'r') {
        return {
            type: 'standard__recordPage',
            attributes: {
                objectApiName: parts[2],
                recordId: parts[3],
                actionName: parts[4] || 'view'
            },
            state
        };
    }
    if (parts[1] === 'n') {
        return {
            type: 'standard__navItemPage',
            attributes: { apiName: parts[2] },
            state
        };
    }
    return {
        type: 'standard__webPage',
        attributes: { url: window.location.href },
        state
    };
}

export class CurrentPageReference {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
    }

    connect() {
        this.dataCallback(currentPageReference());
    }

    update() {}

    disconnect() {}
}
