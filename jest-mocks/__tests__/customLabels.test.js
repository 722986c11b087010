/**
 * Every text the components show is a custom label: each `@salesforce/label/c.X` import
 * must be defined in CustomLabels.labels-meta.xml (a missing one fails the deploy), and the
 * file should define no label that nothing uses.
 */
const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const LABELS_FILE = path.join(ROOT, 'ui/labels/CustomLabels.labels-meta.xml');

function componentSources(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return entry.name === '__tests__' ? [] : componentSources(full);
        }
        return entry.name.endsWith('.js') ? [full] : [];
    });
}

function usedLabels() {
    const used = new Set();
    componentSources(path.join(ROOT, 'ui', 'lwc')).forEach((file) => {
        const source = fs.readFileSync(file, 'utf8');
        for (const match of source.matchAll(/@salesforce\/label\/c\.(\w+)/g)) {
            used.add(match[1]);
        }
    });
    return used;
}

function definedLabels() {
    const xml = fs.readFileSync(LABELS_FILE, 'utf8');
    return [...xml.matchAll(/<labels\s*>([\s\S]*?)<\/labels>/g)].map(
        (match) => {
            const field = (name) => {
                const found = match[1].match(
                    new RegExp(`<${name}\\s*>([\\s\\S]*?)</${name}>`)
                );
                return found ? found[1] : undefined;
            };
            return {
                fullName: field('fullName'),
                value: field('value'),
                shortDescription: field('shortDescription'),
                language: field('language')
            };
        }
    );
}

describe('custom labels', () => {
    const defined = definedLabels();
    const names = defined.map((label) => label.fullName);

    it('defines every label the components import', () => {
        const missing = [...usedLabels()].filter(
            (name) => !names.includes(name)
        );
        expect(missing).toEqual([]);
    });

    it('defines no label that nothing uses', () => {
        const used = usedLabels();
        expect(names.filter((name) => !used.has(name))).toEqual([]);
    });

    it('defines each label once, completely and within the Metadata API limits', () => {
        expect(new Set(names).size).toBe(names.length);
        defined.forEach((label) => {
            expect(label.fullName.length).toBeLessThanOrEqual(80);
            expect(label.language).toBe('en_US');
            expect(label.value.length).toBeGreaterThan(0);
            expect(label.value.length).toBeLessThanOrEqual(1000);
            expect(label.shortDescription.length).toBeGreaterThan(0);
            expect(label.shortDescription.length).toBeLessThanOrEqual(80);
        });
    });
});
