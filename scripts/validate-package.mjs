#!/usr/bin/env node
/**
 * Validates the Salesforce package with Salesforce's own tooling (@salesforce/source-deploy-retrieve,
 * the library behind `sf project deploy/convert`).
 *
 *   npm run validate:package            (run by `make test`)
 *
 * 1. Resolves every file of every package directory in sfdx-project.json (minus .forceignore) to a
 *    metadata component. A file no component claims fails the run.
 * 2. Converts the whole project to Metadata API format (what `sf project convert source` writes)
 *    in a temporary directory.
 * 3. Fails on any Apex (the package must need none).
 * 4. Fails when a component of EXPECTED (below: design.md's contract and issue 6) is missing, or when
 *    metadata refers to something that is not in the package: a field in a permission set (or FLS on
 *    a required field, edit on a formula), a tab in the app, the page behind a tab, a component on a
 *    page (and whether it is exposed for that page and object), a custom label, field, object or
 *    custom permission a component imports.
 * 5. Prints every component by type, with counts.
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

const EXPECTED = {
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
    PlatformEventChannelMember: [
        'ChangeEvents_AccountChangeEvent',
        'ChangeEvents_Collection_Action_ChangeEvent'
    ],
    CustomPermission: ['Credit_Hold_Override'],
    PermissionSet: [
        'Credit_Control_Viewer',
        'Credit_Controller',
        'Credit_Control_Integration',
        'Credit_Hold_Approver'
    ],
    CustomApplication: ['Credit_Control'],
    CustomTab: [
        'Collections_Worklist',
        'Receivable__c',
        'Collection_Action__c'
    ],
    FlexiPage: ['Credit_Control_Account_Record_Page', 'Collections_Worklist'],
    CustomLabels: ['CustomLabels'],
    LightningComponentBundle: COMPONENT_BUNDLES
};
// Types that must have at least one member although their names are not fixed here.
const EXPECTED_NONEMPTY = ['CustomLabel'];
// No Apex anywhere: classes, triggers, and Visualforce (which is Apex-backed) too.
const FORBIDDEN_TYPE = /^Apex(Class|Trigger|Page|Component|TestSuite)$/;

// ---------------------------------------------------------------------------------------------

const problems = [];
const problem = (msg) => problems.push(msg);

function packageDirectories() {
    const project = JSON.parse(
        readFileSync(join(ROOT, 'sfdx-project.json'), 'utf8')
    );
    return project.packageDirectories.map((d) => resolve(ROOT, d.path));
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

async function crossReferences(rows) {
    const has = (type, name) =>
        rows.some((r) => r.type === type && r.fullName === name);
    const byType = (type) => rows.filter((r) => r.type === type);
    const fieldXml = new Map();
    for (const f of byType('CustomField')) {
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
        const entity = String(x.selectedEntity ?? '');
        const custom = entity.match(/^(\w+)__ChangeEvent$/);
        if (custom && !has('CustomObject', `${custom[1]}__c`)) {
            problem(
                `PlatformEventChannelMember ${member.fullName}: object ${custom[1]}__c is not in the package`
            );
        }
    }
}

async function main() {
    const dirs = packageDirectories();
    let cs;
    try {
        cs = ComponentSet.fromSource({ fsPaths: dirs });
    } catch (e) {
        // The resolver stops at the first file whose type it cannot infer: say which and why.
        console.error(
            `Package validation FAILED: a file does not resolve to a known metadata type.\n  ${e.message}`
        );
        process.exit(1);
    }
    const rows = flatten(cs);

    // 1. Every file resolves to a component.
    const claimed = new Set();
    for (const c of cs.getSourceComponents()) {
        if (c.xml) claimed.add(resolve(c.xml));
        if (c.content) {
            for (const p of c.walkContent()) claimed.add(resolve(p));
        }
        for (const child of c.getChildren()) {
            if (child.xml) claimed.add(resolve(child.xml));
        }
    }
    for (const dir of dirs) {
        const ignore = ForceIgnore.findAndCreate(dir);
        for (const file of walk(dir)) {
            if (ignore.denies(file)) continue;
            if (!claimed.has(resolve(file))) {
                problem(
                    `${relative(ROOT, file)}: does not resolve to a known metadata type`
                );
            }
        }
    }

    // 2. Convert to Metadata API format.
    const out = mkdtempSync(join(tmpdir(), 'credit-control-mdapi-'));
    let converted = 0;
    try {
        const result = await new MetadataConverter().convert(cs, 'metadata', {
            type: 'directory',
            outputDirectory: out,
            genUniqueDir: false
        });
        converted = walk(result.packagePath ?? out).length;
        if (!readdirSync(result.packagePath ?? out).includes('package.xml')) {
            problem('conversion to Metadata API format wrote no package.xml');
        }
    } catch (e) {
        problem(`conversion to Metadata API format failed: ${e.message}`);
    } finally {
        rmSync(out, { recursive: true, force: true });
    }

    // 3. No Apex.
    for (const r of rows) {
        if (FORBIDDEN_TYPE.test(r.type)) {
            problem(
                `${r.type} ${r.fullName}: Apex is not allowed in this package`
            );
        }
    }

    // 4. Expected members and cross-references.
    for (const [type, names] of Object.entries(EXPECTED)) {
        for (const name of names) {
            if (!rows.some((r) => r.type === type && r.fullName === name)) {
                problem(`missing ${type} ${name}`);
            }
        }
    }
    for (const type of EXPECTED_NONEMPTY) {
        if (!rows.some((r) => r.type === type))
            problem(`missing: no ${type} in the package`);
    }
    await crossReferences(rows);

    // 5. Print the components by type.
    const groups = new Map();
    for (const r of rows) {
        if (!groups.has(r.type)) groups.set(r.type, []);
        groups.get(r.type).push(r.fullName);
    }
    const types = [...groups.keys()].sort();
    console.log(
        `Package directories: ${dirs.map((d) => relative(ROOT, d)).join(', ')}`
    );
    for (const type of types) {
        const names = groups.get(type).sort();
        console.log(`\n${type} (${names.length})`);
        for (const n of names) console.log(`  ${n}`);
    }
    console.log('\nCounts');
    for (const type of types)
        console.log(`  ${type.padEnd(28)} ${groups.get(type).length}`);
    console.log(`  ${'Total components'.padEnd(28)} ${rows.length}`);
    console.log(`  ${'Metadata API files written'.padEnd(28)} ${converted}`);

    if (problems.length) {
        console.error(
            `\nPackage validation FAILED (${problems.length} problem(s)):`
        );
        for (const p of problems) console.error(`  - ${p}`);
        process.exit(1);
    }
    console.log(
        '\nPackage validation passed: every file resolves, no Apex, all expected components present.'
    );
}

main().catch((e) => {
    console.error(`Package validation FAILED: ${e.stack ?? e}`);
    process.exit(1);
});
