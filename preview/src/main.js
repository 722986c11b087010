/**
 * The preview's page: which FlexiPage the URL asks for (`/lightning/r/<Object>/<id>/view` -> the
 * package's record page of that object, `/lightning/n/<Tab>` -> the page behind that tab), its
 * regions, and in each the package's components, created with the LWC engine and given the
 * properties Lightning gives them (recordId and objectApiName on record pages).
 */
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import pkg from 'preview:package';
import components from 'preview:components';
import { callApi } from './platform/http';

const REGION_CLASSES = {
    header: 'slds-col slds-size_1-of-1',
    main: 'slds-col slds-size_1-of-1 slds-large-size_8-of-12',
    sidebar: 'slds-col slds-size_1-of-1 slds-large-size_4-of-12'
};

function tagOf(name) {
    const [namespace, component] = name.split('/');
    return `${namespace}-${component.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function route() {
    const parts = window.location.pathname
        .split('/')
        .filter(Boolean)
        .map(decodeURIComponent);
    if (parts[0] === 'lightning' && parts[1] === 'r' && parts.length >= 4) {
        const objectApiName = parts[2];
        const entry = Object.entries(pkg.pages).find(
            ([, page]) =>
                page.type === 'RecordPage' && page.sobjectType === objectApiName
        );
        return (
            entry && {
                kind: 'record',
                name: entry[0],
                page: entry[1],
                properties: { recordId: parts[3], objectApiName }
            }
        );
    }
    if (parts[0] === 'lightning' && parts[1] === 'n' && parts.length >= 3) {
        const tab = pkg.tabs[parts[2]];
        const page = tab && pkg.pages[tab.flexiPage];
        return (
            page && {
                kind: 'tab',
                name: tab.flexiPage,
                page,
                title: tab.label,
                properties: {}
            }
        );
    }
    return undefined;
}

function element(tag, attributes = {}, text) {
    const node = document.createElement(tag);
    Object.entries(attributes).forEach(([key, value]) =>
        node.setAttribute(key, value)
    );
    if (text !== undefined) {
        node.textContent = text;
    }
    return node;
}

async function recordTitle(target, properties) {
    const { recordId, objectApiName } = properties;
    try {
        const params = new URLSearchParams({
            optionalFields: `${objectApiName}.Name`
        });
        const record = await callApi(
            'GET',
            `/ui-api/records/${encodeURIComponent(recordId)}?${params}`
        );
        const name = record.fields.Name && record.fields.Name.value;
        target.textContent = name || recordId;
        document.title = `${name || recordId} | ${objectApiName} | Lightning preview`;
    } catch {
        target.textContent = recordId;
    }
}

function showToast(event) {
    const { title, message, variant = 'info' } = event.detail || {};
    const container = document.getElementById('toasts');
    const toast = element('div', {
        class: `slds-notify slds-notify_toast slds-theme_${variant}`,
        role: 'status'
    });
    const content = element('div', { class: 'slds-notify__content' });
    content.appendChild(
        element('h2', { class: 'slds-text-heading_small' }, title || '')
    );
    if (message) {
        content.appendChild(element('p', {}, message));
    }
    toast.appendChild(content);
    container.appendChild(toast);
    setTimeout(() => toast.remove(), 6000);
}

function render() {
    const root = document.getElementById('preview');
    const found = route();
    const header = element('header', {
        class: 'slds-page-header slds-m-bottom_small'
    });
    const heading = element('h1', {
        class: 'slds-page-header__title slds-truncate'
    });
    header.appendChild(heading);
    root.appendChild(header);
    document.addEventListener('lightning__showtoast', showToast);
    if (!found) {
        heading.textContent = 'Page not found';
        root.appendChild(
            element(
                'p',
                { class: 'slds-p-around_medium' },
                'The package has no page for this address.'
            )
        );
        return;
    }
    document.body.dataset.page = found.name;
    if (found.kind === 'record') {
        heading.textContent = found.properties.recordId;
        recordTitle(heading, found.properties);
    } else {
        heading.textContent = found.title || found.page.label;
        document.title = `${heading.textContent} | Lightning preview`;
    }
    const main = element('main', {
        class: 'slds-grid slds-wrap slds-gutters_small'
    });
    root.appendChild(main);
    for (const region of found.page.regions) {
        const single = found.page.regions.length === 1;
        const column = element('div', {
            class:
                (!single && REGION_CLASSES[region.name]) ||
                REGION_CLASSES.header,
            'data-region': region.name
        });
        main.appendChild(column);
        for (const instance of region.components) {
            const Ctor = components[instance.name];
            if (!Ctor) {
                console.error(
                    `The page ${found.name} uses ${instance.name}, which is not in the package`
                );
                continue;
            }
            const wrapper = element('div', { class: 'slds-m-bottom_small' });
            const component = createElement(tagOf(instance.name), { is: Ctor });
            Object.assign(component, instance.properties, found.properties);
            wrapper.appendChild(component);
            column.appendChild(wrapper);
        }
    }
}

render();
