/**
 * The Lightning preview's build: the package's own components, compiled by the open-source LWC
 * compiler (@lwc/rollup-plugin), with Salesforce's published base components
 * (lightning-base-components) and our implementations of the platform modules the components
 * import (preview/src/platform/), into one bundle under preview/dist/ beside the SLDS styles
 * and icons (@salesforce-ux/design-system). devorg serves it at /lightning/... (docs/preview.md).
 *
 *   npm run preview:build
 */
import {
    cpSync,
    mkdirSync,
    readFileSync,
    rmSync,
    writeFileSync
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import lwc from '@lwc/rollup-plugin';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import replace from '@rollup/plugin-replace';
import { readPackage } from './scripts/package.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
// Another checkout of the package, or another output folder, for trying a branch's components.
const PACKAGE_ROOT = resolve(process.env.PREVIEW_PACKAGE_ROOT || ROOT);
const DIST = resolve(process.env.PREVIEW_OUT_DIR || join(HERE, 'dist'));
const PLATFORM = join(HERE, 'src', 'platform');
const SLDS = join(ROOT, 'node_modules', '@salesforce-ux', 'design-system');
const BASE = join(ROOT, 'node_modules', 'lightning-base-components');

/**
 * lightning-base-components' own module records, with absolute paths, so that its modules
 * resolve from components anywhere (an `npm` record resolves from the importing file).
 */
function baseComponentModules() {
    const config = JSON.parse(
        readFileSync(join(BASE, 'package.json'), 'utf8')
    ).lwc;
    return config.modules.map((record) =>
        record.dir
            ? { dir: join(BASE, record.dir) }
            : { ...record, path: join(BASE, record.path) }
    );
}

const pkg = readPackage(PACKAGE_ROOT);

// lightning/* modules the platform provides and the npm package does not (or, for navigation,
// provides only as a stub of Lightning Experience's router).
const PLATFORM_MODULES = [
    'uiRecordApi',
    'uiObjectInfoApi',
    'graphql',
    'empApi',
    'navigation',
    'messageService',
    'platformShowToastEvent'
];

const VIRTUAL = '\0sf:';

/** `@salesforce/*` scoped imports, resolved at build time as the platform's compiler does. */
function salesforceScopedImports() {
    const context = JSON.stringify(join(PLATFORM, 'context.js'));
    const modules = {
        'user/Id': `import { context } from ${context}; export default context().userId;`,
        'i18n/locale': `import { context } from ${context}; export default context().locale;`,
        'i18n/lang': `import { context } from ${context}; export default context().locale.split('-')[0];`,
        'i18n/currency': `import { context } from ${context}; export default context().currency;`,
        'i18n/timeZone': `import { context } from ${context}; export default context().timeZone;`,
        'client/formFactor': `export default 'Large';`
    };
    return {
        name: 'salesforce-scoped-imports',
        resolveId(source) {
            if (
                source === 'preview:package' ||
                source === 'preview:components'
            ) {
                return `${VIRTUAL}${source.slice('preview:'.length)}`;
            }
            if (!source.startsWith('@salesforce/')) {
                return null;
            }
            const rest = source.slice('@salesforce/'.length);
            const [kind] = rest.split('/');
            if (
                rest in modules ||
                ['schema', 'customPermission', 'messageChannel'].includes(kind)
            ) {
                return `${VIRTUAL}${rest}`;
            }
            if (kind === 'label' && rest.startsWith('label/c.')) {
                return `${VIRTUAL}${rest}`;
            }
            if (
                kind === 'apex' ||
                kind === 'resourceUrl' ||
                kind === 'contentAssetUrl'
            ) {
                this.error(
                    `${source}: not implemented by the Lightning preview (docs/preview.md)`
                );
            }
            return null; // the base components' own scoped imports (their labels, gates)
        },
        load(id) {
            if (!id.startsWith(VIRTUAL)) {
                return null;
            }
            const rest = id.slice(VIRTUAL.length);
            if (rest === 'package') {
                return `export default ${JSON.stringify({
                    pages: pkg.pages,
                    tabs: pkg.tabs,
                    components: Object.keys(pkg.components)
                })};`;
            }
            if (rest === 'components') {
                const names = Object.keys(pkg.components).filter(
                    (name) => pkg.components[name].renders
                );
                return [
                    ...names.map(
                        (name, i) =>
                            `import c${i} from ${JSON.stringify(name)};`
                    ),
                    `export default {${names.map((name, i) => `${JSON.stringify(name)}: c${i}`).join(', ')}};`
                ].join('\n');
            }
            if (rest in modules) {
                return modules[rest];
            }
            const [kind, ...tail] = rest.split('/');
            const name = tail.join('/');
            if (kind === 'label') {
                const key = name;
                if (!(key in pkg.labels)) {
                    this.error(
                        `@salesforce/label/${key}: no such custom label in the package`
                    );
                }
                return `export default ${JSON.stringify(pkg.labels[key])};`;
            }
            if (kind === 'schema') {
                const [objectApiName, ...field] = name.split('.');
                const value = field.length
                    ? { objectApiName, fieldApiName: field.join('.') }
                    : { objectApiName };
                return `export default ${JSON.stringify(value)};`;
            }
            if (kind === 'customPermission') {
                return `import { context } from ${context}; export default context().permissions.includes(${JSON.stringify(name)});`;
            }
            if (kind === 'messageChannel') {
                return `export default ${JSON.stringify({ channel: name })};`;
            }
            return null;
        }
    };
}

/** Copies the SLDS styles and icons the page links to, and the page shell. */
function assets() {
    return {
        name: 'preview-assets',
        buildStart() {
            rmSync(DIST, { recursive: true, force: true });
        },
        writeBundle() {
            const slds = join(DIST, 'assets');
            mkdirSync(slds, { recursive: true });
            cpSync(join(SLDS, 'assets', 'styles'), join(slds, 'styles'), {
                recursive: true
            });
            cpSync(join(SLDS, 'assets', 'icons'), join(slds, 'icons'), {
                recursive: true
            });
            cpSync(join(HERE, 'src', 'index.html'), join(DIST, 'index.html'));
            cpSync(join(HERE, 'src', 'preview.css'), join(DIST, 'preview.css'));
            writeFileSync(
                join(DIST, 'manifest.json'),
                `${JSON.stringify(
                    {
                        // What the browser tests check: every component with a template, and
                        // the components each page places.
                        renders: Object.keys(pkg.components).filter(
                            (name) => pkg.components[name].renders
                        ),
                        modals: Object.keys(pkg.components).filter(
                            (name) => pkg.components[name].modal
                        ),
                        pages: Object.fromEntries(
                            Object.entries(pkg.pages).map(([name, page]) => [
                                name,
                                page.regions.flatMap((r) =>
                                    r.components.map((c) => c.name)
                                )
                            ])
                        ),
                        tabs: pkg.tabs
                    },
                    null,
                    2
                )}\n`
            );
        }
    };
}

export default {
    input: join(HERE, 'src', 'main.js'),
    output: {
        file: join(DIST, 'preview.js'),
        format: 'iife',
        inlineDynamicImports: true,
        sourcemap: false
    },
    onwarn(warning, warn) {
        // A module nobody provides would become a missing global and a blank page: refuse.
        if (
            warning.code === 'UNRESOLVED_IMPORT' ||
            warning.code === 'MISSING_GLOBAL_NAME'
        ) {
            throw new Error(
                `${warning.message}: the preview does not implement it (docs/preview.md)`
            );
        }
        // The base components' own template warnings are Salesforce's to fix, not ours.
        if (
            warning.code === 'THIS_IS_UNDEFINED' ||
            `${warning.id || warning.loc?.file || ''}`.includes(
                'lightning-base-components'
            )
        ) {
            return;
        }
        warn(warning);
    },
    plugins: [
        salesforceScopedImports(),
        lwc({
            rootDir: join(HERE, 'src'),
            // The base components use lwc:is (as the platform allows them to).
            enableDynamicComponents: true,
            // ...and ElementInternals, which synthetic shadow supports only when asked.
            enableSyntheticElementInternals: true,
            // Plain libraries are bundled as they are, not compiled as components.
            exclude: ['**/node_modules/cometd/**'],
            modules: [
                ...PLATFORM_MODULES.map((name) => ({
                    name: `lightning/${name}`,
                    path: join(PLATFORM, `${name}.js`)
                })),
                // <lightning-flow>: a stand-in that says flows do not run here
                {
                    name: 'lightning/flow',
                    path: join(PLATFORM, 'flow', 'flow.js')
                },
                ...Object.entries(pkg.components).map(([name, { path }]) => ({
                    name,
                    path
                })),
                ...baseComponentModules()
            ]
        }),
        nodeResolve({ browser: true }),
        replace({
            preventAssignment: true,
            values: {
                'process.env.NODE_ENV': JSON.stringify('production'),
                'import.meta.env.SSR': 'false'
            }
        }),
        assets()
    ]
};
