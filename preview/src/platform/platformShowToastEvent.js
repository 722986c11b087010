/**
 * lightning/platformShowToastEvent: the event a component dispatches; the preview's page shows
 * it as an SLDS toast (main.js listens on the document), as Lightning Experience does.
 */
export class ShowToastEvent extends CustomEvent {
    constructor(toast) {
        super('lightning__showtoast', {
            bubbles: true,
            composed: true,
            cancelable: true,
            detail: toast
        });
    }
}
