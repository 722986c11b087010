/**
 * Helpers shared by every component test. Import them as `test/utils`.
 */
import { createElement } from '@lwc/engine-dom';

// The real timers module: `flushPromises` keeps working in tests that fake timers.
const realTimers = jest.requireActual('timers');

/**
 * Resolves after pending promises (wire emissions, re-renders, awaited calls) have settled.
 */
export function flushPromises() {
    return new Promise((resolve) => realTimers.setImmediate(resolve));
}

/**
 * Creates a component under its tag, sets its public properties and attaches it to the DOM.
 */
export function mount(tag, constructor, props = {}) {
    const element = createElement(tag, { is: constructor });
    Object.assign(element, props);
    document.body.appendChild(element);
    return element;
}

/** Removes every element the test attached to the document. */
export function resetDom() {
    while (document.body.firstChild) {
        document.body.removeChild(document.body.firstChild);
    }
}

/** The first element matching `selector` in the component's shadow root. */
export function query(element, selector) {
    return element.shadowRoot.querySelector(selector);
}

/** Every element matching `selector` in the component's shadow root, as an array. */
export function queryAll(element, selector) {
    return Array.from(element.shadowRoot.querySelectorAll(selector));
}

/**
 * The open `role="dialog"` section of the component's c-modal-dialog (it renders in the
 * modal's own shadow root), or null when no dialog is open.
 */
export function queryDialog(element) {
    const modal = query(element, 'c-modal-dialog');
    return modal ? modal.shadowRoot.querySelector('[role="dialog"]') : null;
}

/** Text content of the component's shadow root, whitespace collapsed. */
export function textOf(element) {
    return element.shadowRoot.textContent.replace(/\s+/g, ' ').trim();
}

/**
 * Sets the value of a base input (lightning-input, -combobox, -textarea) in the component
 * and fires the `change` event the component listens to.
 */
export function changeValue(element, selector, value) {
    const input = query(element, selector);
    if (!input) {
        throw new Error(`No element matches ${selector}`);
    }
    input.value = value;
    input.dispatchEvent(new CustomEvent('change', { detail: { value } }));
    return input;
}
