/**
 * What the preview needs to know about the Salesforce package, read from its source files
 * wherever the package directories put them (nothing here names a package directory):
 *
 * - components: every `lwc/<name>/<name>.js-meta.xml`, as `c/<name>` -> its JavaScript file;
 * - labels: every `*.labels-meta.xml`, `c.<fullName>` -> value;
 * - pages: every `*.flexipage-meta.xml`, its type, object and the `c:` components of each
 *   region (facets such as tabs flattened in place, in document order);
 * - tabs: every `*.tab-meta.xml` that opens a FlexiPage (the `/lightning/n/<tab>` pages).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { XMLParser } from 'fast-xml-parser';

const SKIPPED = new Set([
    'node_modules',
    '.git',
    '.venv',
    'var',
    'preview',
    'tests',
    'service',
    'bench',
    'coverage'
]);

const parser = new XMLParser({
    ignoreAttributes: true,
    isArray: (name) =>
        [
            'labels',
            'flexiPageRegions',
            'itemInstances',
            'componentInstanceProperties',
            'target'
        ].includes(name)
});

function* walk(dir) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (entry.name.startsWith('.') || SKIPPED.has(entry.name)) {
            continue;
        }
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
            yield* walk(path);
        } else {
            yield path;
        }
    }
}

function read(path) {
    return parser.parse(readFileSync(path, 'utf8'));
}

/** `c/<name>` -> absolute path of the component's JavaScript module. */
function findComponents(files) {
    const components = {};
    for (const file of files) {
        if (!file.endsWith('.js-meta.xml')) {
            continue;
        }
        const name = basename(file, '.js-meta.xml');
        const parts = dirname(file).split(sep);
        // lwc/<name>/<name>.js-meta.xml, at any depth of a package directory
        if (parts.at(-1) !== name || parts.at(-2) !== 'lwc') {
            continue;
        }
        const meta = read(file).LightningComponentBundle || {};
        components[`c/${name}`] = {
            path: join(dirname(file), `${name}.js`),
            // A component with a template renders; one without is a service module.
            renders: existsSync(join(dirname(file), `${name}.html`)),
            // A LightningModal subclass renders as <lightning-modal> when opened.
            modal: /from\s+['"]lightning\/modal['"]/.test(
                readFileSync(join(dirname(file), `${name}.js`), 'utf8')
            ),
            exposed: meta.isExposed === true || meta.isExposed === 'true',
            targets: (meta.targets && meta.targets.target) || []
        };
    }
    return components;
}

function findLabels(files) {
    const labels = {};
    for (const file of files.filter((f) => f.endsWith('.labels-meta.xml'))) {
        for (const label of read(file).CustomLabels.labels || []) {
            labels[`c.${label.fullName}`] = `${label.value ?? ''}`;
        }
    }
    return labels;
}

function instancesOf(region) {
    return (region.itemInstances || [])
        .map((item) => item.componentInstance)
        .filter((instance) => !!instance);
}

function propertiesOf(instance) {
    return Object.fromEntries(
        (instance.componentInstanceProperties || []).map((p) => [
            p.name,
            p.value
        ])
    );
}

/** The `c:` components of a region, facets (tab sets, tabs) expanded where they are used. */
function componentsIn(region, facets, seen = new Set()) {
    const found = [];
    for (const instance of instancesOf(region)) {
        const name = instance.componentName || '';
        if (name.startsWith('c:')) {
            found.push({
                name: `c/${name.slice(2)}`,
                properties: propertiesOf(instance)
            });
            continue;
        }
        for (const value of Object.values(propertiesOf(instance))) {
            const facet = facets[value];
            if (facet && !seen.has(value)) {
                seen.add(value);
                found.push(...componentsIn(facet, facets, seen));
            }
        }
    }
    return found;
}

function findPages(files) {
    const pages = {};
    for (const file of files.filter((f) => f.endsWith('.flexipage-meta.xml'))) {
        const page = read(file).FlexiPage || {};
        const regions = page.flexiPageRegions || [];
        const facets = Object.fromEntries(
            regions.filter((r) => r.type === 'Facet').map((r) => [r.name, r])
        );
        pages[basename(file, '.flexipage-meta.xml')] = {
            type: page.type,
            label: page.masterLabel,
            sobjectType: page.sobjectType,
            regions: regions
                .filter((r) => r.type === 'Region')
                .map((r) => ({
                    name: r.name,
                    components: componentsIn(r, facets)
                }))
                .filter((r) => r.components.length > 0)
        };
    }
    return pages;
}

function findTabs(files) {
    const tabs = {};
    for (const file of files.filter((f) => f.endsWith('.tab-meta.xml'))) {
        const tab = read(file).CustomTab || {};
        if (tab.flexiPage) {
            tabs[basename(file, '.tab-meta.xml')] = {
                label: tab.label,
                flexiPage: tab.flexiPage
            };
        }
    }
    return tabs;
}

/** Everything above for the repository at `root`. */
export function readPackage(root) {
    const files = [...walk(root)];
    const components = findComponents(files);
    return {
        components,
        labels: findLabels(files),
        pages: findPages(files),
        tabs: findTabs(files),
        sources: files
            .filter((f) => f.endsWith('-meta.xml'))
            .map((f) => relative(root, f))
    };
}
