/**
 * Mock of lightning/modal (no stub ships with sfdx-lwc-jest): a LightningModal subclass renders
 * like any component in tests; `open()` is a jest.fn that resolves with what the test sets
 * through `modalMock.resolveWith(result)` (default undefined, as when the user closes it).
 */
import { LightningElement } from 'lwc';

let result;

export default class LightningModal extends LightningElement {
    // In Salesforce these are public (@api); the subclasses' templates read `label`.
    label;
    size;
    description;

    static open = jest.fn(() => Promise.resolve(result));

    close(value) {
        this.dispatchEvent(new CustomEvent('close', { detail: value }));
    }
}

export const modalMock = {
    resolveWith: (value) => {
        result = value;
    },
    resetMock: () => {
        result = undefined;
    }
};
