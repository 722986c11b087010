#!/usr/bin/env node
/**
 * Validates the Salesforce packages with Salesforce's own tooling (@salesforce/source-deploy-retrieve,
 * the library behind `sf project deploy` and `sf package version create`).
 *
 *   npm run validate:package            (run by `make test`)
 *
 * For each package of sfdx-project.json (CreditControl: sfdx/, CreditControlUI: ui/, which depends
 * on it), resolved with only its own directory and its dependencies' directories:
 *
 * 1. Resolves every file of the package (minus .forceignore) to a metadata component. A file no
 *    component claims fails the run.
 * 2. Converts the package alone to Metadata API format (what `sf project convert source` writes)
 *    in a temporary directory.
 * 3. Fails on any Apex (the packages need none).
 * 4. Fails when a component of EXPECTED (below: design.md's contract and issue 17's split) is not
 *    in its package, when a component is in two packages, or when the package refers to something
 *    that is neither in it nor in a package it depends on: a field in a permission set (or FLS on
 *    a required field, edit on a formula), a tab, app or flow in a permission set, a tab in the
 *    app, the page behind a tab, a component on a page (and whether it is exposed for that page
 *    and object), the flow behind a quick action, the object and fields a flow writes, the channel
 *    of a channel member, a custom label, field, object, message channel or custom permission a
 *    component imports.
 * 5. Prints every component by package and type, with counts, and the `lightning/*` modules the
 *    components import.
 *
 * Exit code 0 when all holds, 1 otherwise (every problem is listed first).
 */
import {
    mkdtempSync,
    readFileSync,
    readdirSync,
    rmSync,
    statSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
    ComponentSet,
    ForceIgnore,
    MetadataConverter
} from '@salesforce/source-deploy-retrieve';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------------------------------------
// The expected members. Keep in step with /work/shared/design.md ("The Salesforce contract") and
// issue 6. Extra components are fine (they are printed); missing ones fail the run.
// ---------------------------------------------------------------------------------------------
const ACCOUNT_FIELDS = [
    // service-owned
    'Credit_Status__c',
    'Credit_Status_Reason__c',
    'Credit_Status_Updated__c',
    'Balance_Outstanding__c',
    'Overdue_Amount__c',
    'Disputed_Amount__c',
    'Aging_Current__c',
    'Aging_1_30__c',
    'Aging_31_60__c',
    'Aging_61_90__c',
    'Aging_91_Plus__c',
    'Days_Past_Due__c',
    'Risk_Score__c',
    'Dunning_Level__c',
    'Promise_To_Pay_Date__c',
    'Last_Payment_Date__c',
    'Last_Payment_Amount__c',
    'Avg_Days_To_Pay__c',
    'Collection_Priority__c',
    'Next_Action_Date__c',
    'Amount_To_Release__c',
    // owned by people or the ERP
    'ERP_Customer_Number__c',
    'Credit_Limit__c',
    'Credit_Hold_Override_Until__c',
    // formulas
    'Credit_Available__c',
    'Credit_Utilization__c'
];
const RECEIVABLE_FIELDS = [
    'Account__c',
    'ERP_Item_Id__c',
    'Type__c',
    'Issue_Date__c',
    'Due_Date__c',
    'Amount__c',
    'Open_Amount__c',
    'Currency_Code__c',
    'Status__c',
    'Days_Past_Due__c',
    'Pay_Link__c'
];
const COLLECTION_ACTION_FIELDS = [
    'Account__c',
    'Type__c',
    'Outcome__c',
    'Promised_Amount__c',
    'Promised_Date__c',
    'Receivable__c',
    'Disputed_Amount__c',
    'Dispute_Reason__c',
    'Dispute_Status__c',
    'Override_Until__c',
    'Follow_Up_Date__c',
    'Notes__c',
    'Source__c'
];
const EVENT_FIELDS = {
    Credit_Status_Change__e: [
        'Account_Id__c',
        'Previous_Status__c',
        'New_Status__c',
        'Reason__c',
        'Overdue_Amount__c',
        'Days_Past_Due__c'
    ],
    Credit_Review_Request__e: [
        'Account_Id__c',
        'Requested_Limit__c',
        'Reason__c'
    ],
    Payment_Received__e: [
        'Account_Id__c',
        'ERP_Customer_Number__c',
        'Amount__c',
        'Currency_Code__c',
        'Reference__c',
        'Received_At__c'
    ]
};
const COMPONENT_BUNDLES = [
    'creditStatusBanner',
    'collectionActionLog',
    'collectionsWorklist',
    'agingChart',
    'openReceivables'
];

const EXPECTED_DATA_MODEL = {
    CustomObject: [
        'Receivable__c',
        'Collection_Action__c',
        ...Object.keys(EVENT_FIELDS)
    ],
    CustomField: [
        ...ACCOUNT_FIELDS.map((f) => `Account.${f}`),
        ...RECEIVABLE_FIELDS.map((f) => `Receivable__c.${f}`),
        ...COLLECTION_ACTION_FIELDS.map((f) => `Collection_Action__c.${f}`),
        ...Object.entries(EVENT_FIELDS).flatMap(([e, fs]) =>
            fs.map((f) => `${e}.${f}`)
        )
    ],
    ValidationRule: [
        'Opportunity.Credit_Hold_Blocks_Closed_Won',
        'Order.Credit_Hold_Blocks_Activation',
        'Collection_Action__c.Promise_Requires_Date_And_Amount',
        'Collection_Action__c.Dispute_Requires_Invoice_Amount_Reason',
        'Collection_Action__c.Hold_Override_Requires_Permission',
        'Collection_Action__c.Hold_Override_Requires_End_Date'
    ],
    ListView: [
        'Receivable__c.All',
        'Receivable__c.Open_Receivables',
        'Collection_Action__c.All',
        'Collection_Action__c.My_Collection_Actions'
    ],
    Layout: [
        'Receivable__c-Receivable Layout',
        'Collection_Action__c-Collection Action Layout'
    ],
    CompactLayout: [
        'Receivable__c.Receivable_Compact',
        'Collection_Action__c.Collection_Action_Compact'
    ],
    PlatformEventChannel: ['CreditControlSync__chn'],
    PlatformEventChannelMember: [
        'ChangeEvents_AccountChangeEvent',
        'ChangeEvents_Collection_Action_ChangeEvent',
        'CreditControlSync_chn_AccountChangeEvent'
    ],
    CustomPermission: ['Credit_Hold_Override'],
    PermissionSet: [
        'Credit_Control_Viewer',
        'Credit_Controller',
        'Credit_Control_Integration',
        'Credit_Hold_Approver'
    ]
};
const EXPECTED_UI = {
    CustomApplication: ['Credit_Control'],
    CustomTab: [
        'Collections_Worklist',
        'Receivable__c',
        'Collection_Action__c'
    ],
    FlexiPage: ['Credit_Control_Account_Record_Page', 'Collections_Worklist'],
    CustomLabels: ['CustomLabels'],
    LightningMessageChannel: ['Credit_Control_Account'],
    PermissionSet: ['Credit_Control_App'],
    Flow: ['Request_Credit_Review'],
    QuickAction: ['Account.Request_Credit_Review'],
    LightningComponentBundle: COMPONENT_BUNDLES
};
// What each package of sfdx-project.json must hold (by its `package` name).
const EXPECTED = {
    CreditControl: EXPECTED_DATA_MODEL,
    CreditControlUI: EXPECTED_UI
};
// Types that must have at least one member although their names are not fixed here.
const EXPECTED_NONEMPTY = ['CustomLabel'];
// No Apex anywhere: classes, triggers, and Visualforce (which is Apex-backed) too.
const FORBIDDEN_TYPE = /^Apex(Class|Trigger|Page|Component|TestSuite)$/;

// ---------------------------------------------------------------------------------------------

const problems = [];
// Every `lightning/*` platform module a component imports (printed; the preview must provide them).
const lightningModules = new Set();
const problem = (msg) => problems.push(msg);

/**
 * The packages of sfdx-project.json: [{name, dir, dependencies: [package names]}], in file order.
 * A dependency must be another package of this project, listed before it (or an alias, which is
 * an installed package this validation cannot see and reports).
 */
function projectPackages() {
    const project = JSON.parse(
        readFileSync(join(ROOT, 'sfdx-project.json'), 'utf8')
    );
    const packages = project.packageDirectories.map((d) => ({
        name: d.package ?? d.path,
        dir: resolve(ROOT, d.path),
        versionNumber: d.versionNumber,
        dependencies: asArray(d.dependencies).map((x) => x.package)
    }));
    const names = new Set(packages.map((p) => p.name));
    packages.forEach((p, i) => {
        if (!p.versionNumber) {
            problem(`package ${p.name}: no versionNumber in sfdx-project.json`);
        }
        for (const dep of p.dependencies) {
            const at = packages.findIndex((q) => q.name === dep);
            if (at === -1) {
                problem(
                    `package ${p.name}: depends on ${dep}, which is not a package of this project`
                );
            } else if (at >= i) {
                problem(
                    `package ${p.name}: depends on ${dep}, which must come before it in packageDirectories`
                );
            }
        }
    });
    for (const [alias, id] of Object.entries(project.packageAliases ?? {})) {
        if (!/^(0Ho|04t)\w{12}(\w{3})?$/.test(String(id))) {
            problem(
                `packageAliases: ${alias} is not a package (0Ho) or version (04t) id`
            );
        }
        if (!names.has(alias.split('@')[0])) {
            problem(
                `packageAliases: ${alias} names no package of this project`
            );
        }
    }
    return packages;
}

/** The package and everything it depends on, transitively: the directories it resolves against. */
function withDependencies(pkg, packages, seen = new Set()) {
    if (seen.has(pkg.name)) return [];
    seen.add(pkg.name);
    const deps = pkg.dependencies
        .map((d) => packages.find((q) => q.name === d))
        .filter(Boolean)
        .flatMap((d) => withDependencies(d, packages, seen));
    return [...deps, pkg];
}

function walk(dir, out = []) {
    for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p, out);
        else out.push(p);
    }
    return out;
}

/** All components, children included, as [{type, fullName, component}]. */
function flatten(cs) {
    const rows = [];
    for (const c of cs.getSourceComponents()) {
        rows.push({ type: c.type.name, fullName: c.fullName, component: c });
        for (const child of c.getChildren()) {
            rows.push({
                type: child.type.name,
                fullName: child.fullName,
                component: child
            });
        }
    }
    return rows;
}

function asArray(v) {
    if (v === undefined || v === null) return [];
    return Array.isArray(v) ? v : [v];
}

async function xmlOf(row) {
    try {
        return await row.component.parseXml();
    } catch (e) {
        problem(
            `${row.type} ${row.fullName}: XML does not parse (${e.message})`
        );
        return {};
    }
}

/**
 * References made by the components in `own` (one package) must resolve among `rows` (that
 * package and its dependencies): nothing may point into a package it does not depend on.
 */
async function crossReferences(rows, own = rows) {
    const has = (type, name) =>
        rows.some((r) => r.type === type && r.fullName === name);
    const byType = (type) => own.filter((r) => r.type === type);
    const fieldXml = new Map();
    for (const f of rows.filter((r) => r.type === 'CustomField')) {
        fieldXml.set(f.fullName, (await xmlOf(f)).CustomField ?? {});
    }

    for (const ps of byType('PermissionSet')) {
        const x = (await xmlOf(ps)).PermissionSet ?? {};
        for (const fp of asArray(x.fieldPermissions)) {
            const f = fieldXml.get(fp.field);
            if (!f) {
                problem(
                    `PermissionSet ${ps.fullName}: field ${fp.field} is not in the package`
                );
                continue;
            }
            if (String(f.required) === 'true') {
                problem(
                    `PermissionSet ${ps.fullName}: ${fp.field} is required; field-level security cannot be set on it`
                );
            }
            if (f.formula !== undefined && String(fp.editable) === 'true') {
                problem(
                    `PermissionSet ${ps.fullName}: formula field ${fp.field} cannot be editable`
                );
            }
        }
        for (const cp of asArray(x.customPermissions)) {
            if (!has('CustomPermission', cp.name)) {
                problem(
                    `PermissionSet ${ps.fullName}: custom permission ${cp.name} is not in the package`
                );
            }
        }
        for (const t of asArray(x.tabSettings)) {
            if (!has('CustomTab', t.tab)) {
                problem(
                    `PermissionSet ${ps.fullName}: tab ${t.tab} is not in the package`
                );
            }
        }
        for (const a of asArray(x.applicationVisibilities)) {
            if (!has('CustomApplication', a.application)) {
                problem(
                    `PermissionSet ${ps.fullName}: app ${a.application} is not in the package`
                );
            }
        }
        for (const f of asArray(x.flowAccesses)) {
            if (!has('Flow', f.flow)) {
                problem(
                    `PermissionSet ${ps.fullName}: flow ${f.flow} is not in the package`
                );
            }
        }
        if (asArray(x.userPermissions).some((u) => u.name === 'ViewAllData')) {
            problem(
                `PermissionSet ${ps.fullName}: grants ViewAllData; give View All on the objects instead`
            );
        }
    }

    for (const app of byType('CustomApplication')) {
        const x = (await xmlOf(app)).CustomApplication ?? {};
        for (const tab of asArray(x.tabs)) {
            if (!tab.startsWith('standard-') && !has('CustomTab', tab)) {
                problem(
                    `CustomApplication ${app.fullName}: tab ${tab} is not in the package`
                );
            }
        }
        for (const o of asArray(x.actionOverrides)) {
            if (o.type === 'Flexipage' && !has('FlexiPage', o.content)) {
                problem(
                    `CustomApplication ${app.fullName}: page ${o.content} is not in the package`
                );
            }
        }
    }

    for (const action of byType('QuickAction')) {
        const x = (await xmlOf(action)).QuickAction ?? {};
        if (x.flowDefinition && !has('Flow', x.flowDefinition)) {
            problem(
                `QuickAction ${action.fullName}: flow ${x.flowDefinition} is not in the package`
            );
        }
    }

    for (const flow of byType('Flow')) {
        const x = (await xmlOf(flow)).Flow ?? {};
        for (const create of asArray(x.recordCreates)) {
            const object = String(create.object ?? '');
            if (/__[ce]$/.test(object) && !has('CustomObject', object)) {
                problem(
                    `Flow ${flow.fullName}: object ${object} is not in the package`
                );
            }
            for (const a of asArray(create.inputAssignments)) {
                if (
                    String(a.field).endsWith('__c') &&
                    !has('CustomField', `${object}.${a.field}`)
                ) {
                    problem(
                        `Flow ${flow.fullName}: field ${object}.${a.field} is not in the package`
                    );
                }
            }
        }
    }

    for (const tab of byType('CustomTab')) {
        const x = (await xmlOf(tab)).CustomTab ?? {};
        if (x.flexiPage && !has('FlexiPage', x.flexiPage)) {
            problem(
                `CustomTab ${tab.fullName}: page ${x.flexiPage} is not in the package`
            );
        }
        if (
            String(x.customObject) === 'true' &&
            !has('CustomObject', tab.fullName)
        ) {
            problem(
                `CustomTab ${tab.fullName}: object ${tab.fullName} is not in the package`
            );
        }
    }

    for (const page of byType('FlexiPage')) {
        const raw = readFileSync(page.component.xml, 'utf8');
        const pageType = (raw.match(
            /<type>\s*(RecordPage|AppPage|HomePage)\s*<\/type>\s*<\/FlexiPage>/
        ) ?? [])[1];
        for (const m of raw.matchAll(
            /<componentName>\s*c:(\w+)\s*<\/componentName>/g
        )) {
            const bundle = rows.find(
                (r) =>
                    r.type === 'LightningComponentBundle' && r.fullName === m[1]
            );
            if (!bundle) {
                problem(
                    `FlexiPage ${page.fullName}: component c:${m[1]} is not in the package`
                );
                continue;
            }
            // A page can only hold an exposed component that targets its page type.
            if (!bundle.component.xml) {
                problem(
                    `LightningComponentBundle ${m[1]}: no ${m[1]}.js-meta.xml`
                );
                continue;
            }
            const meta = (await xmlOf(bundle)).LightningComponentBundle ?? {};
            if (String(meta.isExposed) !== 'true') {
                problem(
                    `FlexiPage ${page.fullName}: component c:${m[1]} is not exposed (isExposed)`
                );
            }
            const targets = asArray(meta.targets?.target);
            if (pageType && !targets.includes(`lightning__${pageType}`)) {
                problem(
                    `FlexiPage ${page.fullName}: component c:${m[1]} does not target lightning__${pageType}`
                );
            }
            // On a record page, a component limited to some objects must list the page's object.
            const sobject = (raw.match(
                /<sobjectType>\s*(\w+)\s*<\/sobjectType>/
            ) ?? [])[1];
            for (const config of asArray(meta.targetConfigs?.targetConfig)) {
                const objects = asArray(config.objects?.object);
                const forRecordPage = String(config['@_targets'] ?? '')
                    .split(',')
                    .map((t) => t.trim())
                    .includes('lightning__RecordPage');
                if (
                    pageType === 'RecordPage' &&
                    sobject &&
                    forRecordPage &&
                    objects.length &&
                    !objects.includes(sobject)
                ) {
                    problem(
                        `FlexiPage ${page.fullName}: component c:${m[1]} is not configured for ${sobject} record pages`
                    );
                }
            }
        }
    }

    // Components: every custom label and custom field they import must be in the package, or
    // the deploy fails ("no CustomLabel named ...", "invalid field ...").
    for (const bundle of byType('LightningComponentBundle')) {
        const files = bundle.component.content
            ? bundle.component.walkContent()
            : [];
        for (const file of files.filter((f) => f.endsWith('.js'))) {
            const src = readFileSync(file, 'utf8');
            for (const m of src.matchAll(/@salesforce\/label\/c\.(\w+)/g)) {
                // (when the labels file itself is missing, that is reported once, above)
                if (
                    has('CustomLabels', 'CustomLabels') &&
                    !has('CustomLabel', m[1])
                ) {
                    problem(
                        `${relative(ROOT, file)}: custom label ${m[1]} is not in the package`
                    );
                }
            }
            for (const m of src.matchAll(
                /@salesforce\/schema\/(\w+)\.(\w+)['"]/g
            )) {
                const [, object, field] = m;
                if (
                    field.endsWith('__c') &&
                    !has('CustomField', `${object}.${field}`)
                ) {
                    problem(
                        `${relative(ROOT, file)}: field ${object}.${field} is not in the package`
                    );
                }
            }
            for (const m of src.matchAll(
                /@salesforce\/schema\/(\w+__[ce])['"]/g
            )) {
                if (!has('CustomObject', m[1])) {
                    problem(
                        `${relative(ROOT, file)}: object ${m[1]} is not in the package`
                    );
                }
            }
            for (const m of src.matchAll(
                /@salesforce\/messageChannel\/(\w+)__c/g
            )) {
                if (!has('LightningMessageChannel', m[1])) {
                    problem(
                        `${relative(ROOT, file)}: message channel ${m[1]} is not in the package`
                    );
                }
            }
            for (const m of src.matchAll(/from\s+'(lightning\/\w+)'/g)) {
                lightningModules.add(m[1]);
            }
            for (const m of src.matchAll(
                /@salesforce\/customPermission\/(\w+)/g
            )) {
                if (!has('CustomPermission', m[1])) {
                    problem(
                        `${relative(ROOT, file)}: custom permission ${m[1]} is not in the package`
                    );
                }
            }
        }
    }

    for (const member of byType('PlatformEventChannelMember')) {
        const x = (await xmlOf(member)).PlatformEventChannelMember ?? {};
        const channel = String(x.eventChannel ?? '');
        if (
            channel.endsWith('__chn') &&
            !has('PlatformEventChannel', channel)
        ) {
            problem(
                `PlatformEventChannelMember ${member.fullName}: channel ${channel} is not in the package`
            );
        }
        const entity = String(x.selectedEntity ?? '');
        const custom = entity.match(/^(\w+)__ChangeEvent$/);
        if (custom && !has('CustomObject', `${custom[1]}__c`)) {
            problem(
                `PlatformEventChannelMember ${member.fullName}: object ${custom[1]}__c is not in the package`
            );
        }
    }
}

/** Resolve, check and convert one package against its dependencies; returns its rows. */
async function validatePackage(pkg, packages, seenElsewhere) {
    const closure = withDependencies(pkg, packages);
    const dirs = closure.map((p) => p.dir);
    let cs;
    let own;
    try {
        cs = ComponentSet.fromSource({ fsPaths: dirs });
        own = ComponentSet.fromSource({ fsPaths: [pkg.dir] });
    } catch (e) {
        // The resolver stops at the first file whose type it cannot infer: say which and why.
        problem(
            `package ${pkg.name}: a file does not resolve to a known metadata type: ${e.message}`
        );
        return [];
    }
    const rows = flatten(cs);
    const ownRows = flatten(own);

    // 1. Every file of the package resolves to a component.
    const claimed = new Set();
    for (const c of own.getSourceComponents()) {
        if (c.xml) claimed.add(resolve(c.xml));
        if (c.content) {
            for (const p of c.walkContent()) claimed.add(resolve(p));
        }
        for (const child of c.getChildren()) {
            if (child.xml) claimed.add(resolve(child.xml));
        }
    }
    const ignore = ForceIgnore.findAndCreate(pkg.dir);
    for (const file of walk(pkg.dir)) {
        if (ignore.denies(file)) continue;
        if (!claimed.has(resolve(file))) {
            problem(
                `${relative(ROOT, file)}: does not resolve to a known metadata type`
            );
        }
    }

    // 2. Convert the package alone to Metadata API format (what `sf package version create` uploads).
    const out = mkdtempSync(join(tmpdir(), 'credit-control-mdapi-'));
    let converted = 0;
    try {
        const result = await new MetadataConverter().convert(own, 'metadata', {
            type: 'directory',
            outputDirectory: out,
            genUniqueDir: false
        });
        converted = walk(result.packagePath ?? out).length;
        if (!readdirSync(result.packagePath ?? out).includes('package.xml')) {
            problem(`package ${pkg.name}: conversion wrote no package.xml`);
        }
    } catch (e) {
        problem(
            `package ${pkg.name}: conversion to Metadata API format failed: ${e.message}`
        );
    } finally {
        rmSync(out, { recursive: true, force: true });
    }

    // 3. No Apex.
    for (const r of ownRows) {
        if (FORBIDDEN_TYPE.test(r.type)) {
            problem(
                `${r.type} ${r.fullName}: Apex is not allowed in this package`
            );
        }
    }

    // 4. Expected members (in this package, not merely reachable), one owner per component,
    //    and references that resolve within the package and its dependencies.
    for (const [type, names] of Object.entries(EXPECTED[pkg.name] ?? {})) {
        for (const name of names) {
            if (!ownRows.some((r) => r.type === type && r.fullName === name)) {
                problem(`package ${pkg.name}: missing ${type} ${name}`);
            }
        }
    }
    if (pkg.name === 'CreditControlUI') {
        for (const type of EXPECTED_NONEMPTY) {
            if (!ownRows.some((r) => r.type === type)) {
                problem(`package ${pkg.name}: no ${type}`);
            }
        }
    }
    for (const r of ownRows) {
        const key = `${r.type} ${r.fullName}`;
        const other = seenElsewhere.get(key);
        // An object's own metadata file may be in both packages only for standard objects'
        // children (fields, rules), which are distinct components; a component twice is a clash.
        if (other && other !== pkg.name) {
            problem(`${key} is in both ${other} and ${pkg.name}`);
        }
        seenElsewhere.set(key, pkg.name);
    }
    await crossReferences(rows, ownRows);

    // 5. Print the package's components by type.
    const groups = new Map();
    for (const r of ownRows) {
        if (!groups.has(r.type)) groups.set(r.type, []);
        groups.get(r.type).push(r.fullName);
    }
    const types = [...groups.keys()].sort();
    console.log(
        `\n=== Package ${pkg.name} (${relative(ROOT, pkg.dir)}), resolved with ${
            closure.length > 1
                ? closure
                      .slice(0, -1)
                      .map((p) => p.name)
                      .join(', ')
                : 'no dependencies'
        }`
    );
    for (const type of types) {
        const names = groups.get(type).sort();
        console.log(`\n${type} (${names.length})`);
        for (const n of names) console.log(`  ${n}`);
    }
    console.log('\nCounts');
    for (const type of types)
        console.log(`  ${type.padEnd(28)} ${groups.get(type).length}`);
    console.log(`  ${'Total components'.padEnd(28)} ${ownRows.length}`);
    console.log(`  ${'Metadata API files written'.padEnd(28)} ${converted}`);
    return ownRows;
}

async function main() {
    const packages = projectPackages();
    for (const name of Object.keys(EXPECTED)) {
        if (!packages.some((p) => p.name === name)) {
            problem(`sfdx-project.json has no package ${name}`);
        }
    }
    const seen = new Map();
    for (const pkg of packages) {
        await validatePackage(pkg, packages, seen);
    }
    if (lightningModules.size) {
        console.log('\nlightning/* platform modules the components import');
        for (const m of [...lightningModules].sort()) console.log(`  ${m}`);
    }

    if (problems.length) {
        console.error(
            `\nPackage validation FAILED (${problems.length} problem(s)):`
        );
        for (const p of problems) console.error(`  - ${p}`);
        process.exit(1);
    }
    console.log(
        `\nPackage validation passed: ${packages
            .map((p) => p.name)
            .join(
                ', '
            )} each resolve on their own dependencies, every file resolves, no Apex, all expected components present.`
    );
}

main().catch((e) => {
    console.error(`Package validation FAILED: ${e.stack ?? e}`);
    process.exit(1);
});
